"""The shared Redis client: opened by the lifespan when ``REDIS_URL`` is set."""

from redis.asyncio import Redis

from app.core.configs import AppConfig, app_config


class RedisConnection:
    """Owns one pooled client; ``connect`` at startup, ``disconnect`` at shutdown."""

    def __init__(self, config: AppConfig) -> None:
        self._config = config
        self._client: Redis | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._config.REDIS_URL)

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError("Redis is not connected; is REDIS_URL set and the lifespan running?")
        return self._client

    def connect(self) -> None:
        if self._client is None and self.enabled:
            self._client = Redis.from_url(
                self._config.REDIS_URL,
                socket_timeout=self._config.REDIS_TIMEOUT,
                socket_connect_timeout=self._config.REDIS_TIMEOUT,
                health_check_interval=30,
            )

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None

    async def ping(self) -> None:
        await self.client.ping()


redis_connection = RedisConnection(app_config)
