"""The shared Redis client (opened by the lifespan when ``REDIS_URL`` is set), what counts as
"Redis unavailable", and ``optional_redis``: calls where Redis is only an optimisation.

Every call is bounded: connecting and each reply wait at most ``REDIS_TIMEOUT``. Where Redis
only saves work (the cache, list totals, the rate limiter), a request also has a total budget,
``REDIS_REQUEST_BUDGET``; past it, or while Redis is known to be failing, those calls are
skipped and the request carries on without Redis. A single background probe reconnects, with
the full ``REDIS_TIMEOUT``, and replays the invalidations that could not be sent meanwhile.
"""

import asyncio
import contextvars
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.configs import AppConfig, app_config
from app.core.services.log import logger

T = TypeVar("T")

# What a call to Redis may raise when Redis cannot be reached or stopped answering. A connection
# closed under the client raises RuntimeError under uvloop ("unable to perform operation on
# <TCPTransport closed=True ...>"), which redis-py passes on as it is.
REDIS_CALL_ERRORS: tuple[type[BaseException], ...] = (
    RedisError,
    OSError,
    TimeoutError,
    RuntimeError,
)


def redis_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means Redis is unreachable or silent, rather than refusing a command."""
    if isinstance(error, RedisConnectionError | RedisTimeoutError | OSError | TimeoutError):
        return True
    if isinstance(error, RuntimeError):
        return "closed" in str(error) or "transport" in str(error).lower()
    return False


class RedisUnavailable(RedisConnectionError):
    """Skipped: Redis is failing, or the request's budget for it is spent."""


async def carry_on_without_redis(error: BaseException, what: str, **context: Any) -> None:
    """Let an optional Redis call's failure pass: warned about (unless ``optional_redis``
    already said Redis is failing), or raised again when it is not Redis's."""
    if isinstance(error, RedisUnavailable):
        return
    if isinstance(error, RedisError) or redis_unavailable(error):
        await logger.a_warning(what, error=type(error).__name__, **context)
        return
    raise error


def client_options(config: AppConfig, *, read_timeout: float | None = None) -> dict[str, Any]:
    """redis-py options: bounded connects and replies (``read_timeout`` for blocking reads),
    TCP keepalives, one immediate retry on a dropped connection and none on a timeout, and no
    extra round trips (``CLIENT SETINFO``, health-check pings) on a new connection."""
    return {
        "socket_timeout": read_timeout or config.REDIS_TIMEOUT,
        "socket_connect_timeout": config.REDIS_TIMEOUT,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "driver_info": None,
        # RESP2: no HELLO, nor RESP3's maintenance-notification handshake, on a new connection.
        "protocol": 2,
    }


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

    @property
    def connected(self) -> bool:
        return self._client is not None

    def connect(self) -> None:
        if self._client is None and self.enabled:
            self._client = Redis.from_url(self._config.REDIS_URL, **client_options(self._config))

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None

    async def ping(self) -> None:
        await self.client.ping()


redis_connection = RedisConnection(app_config)

# When the current request's Redis budget runs out (time.monotonic()); 0: not in a request.
_budget_deadline: contextvars.ContextVar[float] = contextvars.ContextVar(
    "redis_budget_deadline", default=0.0
)


def start_request_budget(seconds: float) -> None:
    """Give the current request ``seconds`` of Redis time in all (the request middleware)."""
    _budget_deadline.set(time.monotonic() + seconds)


def end_request_budget() -> None:
    """Work after the response (event listeners) is not bound by the request's budget."""
    _budget_deadline.set(0.0)


class OptionalRedis:
    """Calls to Redis that a request can do without.

    ``call`` runs one within what is left of the request's budget (``REDIS_TIMEOUT`` outside a
    request) and raises ``RedisUnavailable`` when it is skipped or Redis fails; a failure
    suspends every call for a moment while one background probe reconnects. ``invalidate``
    is for writes that must land eventually (deleting a stale entry): while Redis fails they are
    kept, newest last, and replayed by the probe before calls resume.
    """

    # Longest wait between two rounds of the probe while Redis stays down.
    PROBE_MAX_INTERVAL_SECONDS = 5.0
    MAX_PENDING = 10_000

    def __init__(self, config: AppConfig, connection: RedisConnection) -> None:
        self._config = config
        self._connection = connection
        self._pending: OrderedDict[str, Callable[[], Awaitable[Any]]] = OrderedDict()
        self._probe: asyncio.Task[None] | None = None

    @property
    def suspended(self) -> bool:
        """Whether calls are skipped: Redis failed and the probe has not seen it answer yet."""
        return self._probe is not None

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        if self._probe is not None:
            raise RedisUnavailable("Redis is failing; call skipped")
        limit = self._config.REDIS_TIMEOUT
        deadline = _budget_deadline.get()
        if deadline:
            limit = min(limit, deadline - time.monotonic())
            if limit <= 0:
                raise RedisUnavailable("the request's Redis budget is spent; call skipped")
        try:
            async with asyncio.timeout(limit):
                return await operation()
        except REDIS_CALL_ERRORS as error:
            if not redis_unavailable(error):
                raise
            if self._probe is None:
                await logger.a_warning(
                    "Redis unavailable; carrying on without it", error=type(error).__name__
                )
                self._start_probe()
            raise RedisUnavailable(f"Redis call failed: {type(error).__name__}") from error

    async def invalidate(self, key: str, operation: Callable[[], Awaitable[Any]]) -> None:
        """Run ``operation`` now if Redis answers within the budget, else keep it under ``key``
        (a later one with the same key replaces it) for the probe to replay."""
        if self._probe is None:
            try:
                await self.call(operation)
                return
            except RedisUnavailable:
                pass
        self._pending.pop(key, None)
        self._pending[key] = operation
        if len(self._pending) > self.MAX_PENDING:
            dropped, _ = self._pending.popitem(last=False)
            await logger.a_error("too many invalidations waiting for Redis; dropped", key=dropped)
        self._start_probe()

    def _start_probe(self) -> None:
        if self._probe is None and self._connection.connected:
            # Its own context: the probe outlives the request that started it.
            self._probe = asyncio.get_running_loop().create_task(
                self._recover(), context=contextvars.Context()
            )

    async def _recover(self) -> None:
        """Ping with the full timeout until Redis answers and replay pending invalidations;
        then calls go through again. Waits double between failed rounds, up to a few seconds."""
        delay = 0.1
        try:
            while not await self._recovered():
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.PROBE_MAX_INTERVAL_SECONDS)
        finally:
            self._probe = None
        await logger.a_info("Redis answering again")

    async def _recovered(self) -> bool:
        try:
            async with asyncio.timeout(self._config.REDIS_TIMEOUT * 2):
                await self._connection.client.ping()
                while self._pending:
                    key, operation = next(iter(self._pending.items()))
                    try:
                        await operation()
                    except REDIS_CALL_ERRORS as error:
                        if redis_unavailable(error):
                            raise
                        await logger.a_exception("invalidation refused by Redis; dropped", key=key)
                    if self._pending.get(key) is operation:
                        del self._pending[key]
        except REDIS_CALL_ERRORS as error:
            if redis_unavailable(error):
                return False
            await logger.a_exception("Redis answers with an error; calls resume anyway")
        return True

    async def close(self) -> None:
        """Stop the probe; log invalidations that never reached Redis."""
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        if self._pending:
            await logger.a_error(
                "Redis unreachable at shutdown; invalidations lost", count=self.pending
            )
            self._pending.clear()


optional_redis = OptionalRedis(app_config, redis_connection)
