"""``ConfigurableRateLimiter``: fastapi-limiter with one budget per client and route template.

fastapi-limiter 0.2 on its own puts every client in one shared bucket, trusts any
``X-Forwarded-For`` and keys on the concrete path. Here the bucket key is the client address
(``request.client``: the socket peer, or behind ``TRUSTED_PROXIES`` the address they
forwarded), the method and the route template. Budgets live in Redis when ``REDIS_URL`` is set,
else in process memory. If Redis fails or is slow (past the request's Redis budget), the request
is let through.
"""

from fastapi import HTTPException, Request, Response, status
from fastapi_limiter.depends import RateLimiter
from pyrate_limiter import Limiter, Rate

from app.core.api.routing import route_template
from app.core.configs import app_config
from app.core.services import metrics
from app.core.services.ratelimit import KeyedBucketFactory, seconds_until_allowed
from app.core.services.redis import (
    REDIS_CALL_ERRORS,
    carry_on_without_redis,
    optional_redis,
    redis_connection,
)


def client_address(request: Request) -> str:
    """The client's address (behind ``TRUSTED_PROXIES``, the one they forwarded: see
    ``ClientAddressMiddleware``)."""
    return request.client.host if request.client else "unknown"


class RouteRateLimiter(RateLimiter):
    """fastapi-limiter's ``RateLimiter`` without its scan of ``app.routes`` on every request.

    That scan assumes every entry has a ``path``, which FastAPI's included routers no longer
    have; the identifier already names the route template, so the scan adds nothing here.
    """

    async def __call__(self, request: Request, response: Response) -> None:
        key = await self.identifier(request)
        if not await self.limiter.try_acquire_async(key, blocking=self.blocking):
            await self.callback(request, response)


class ConfigurableRateLimiter:
    """A dependency allowing ``times`` requests per ``seconds`` (plus ``minutes``/``hours``)
    for each client on each route; off when ``RATE_LIMITER_ENABLED`` is false.
    """

    def __init__(self, times: int, seconds: int = 0, minutes: int = 0, hours: int = 0) -> None:
        self.window_seconds = seconds + 60 * minutes + 3600 * hours
        if times < 1 or self.window_seconds < 1:
            raise ValueError("a rate limit needs times >= 1 and a window of at least a second")
        self.times = times
        self._limiter: RouteRateLimiter | None = None
        self._factory: KeyedBucketFactory | None = None

    def _rate_limiter(self) -> RouteRateLimiter:
        # Built on first use, after the lifespan opened Redis.
        if self._limiter is None:
            window_ms = self.window_seconds * 1000
            self._factory = KeyedBucketFactory([Rate(self.times, window_ms)], window_ms)
            self._limiter = RouteRateLimiter(
                limiter=Limiter(self._factory),
                identifier=self._identify,
                callback=self._reject,
            )
        return self._limiter

    def reset(self) -> None:
        """Forget every budget held in memory (tests)."""
        self._limiter = None

    async def __call__(self, request: Request, response: Response) -> None:
        if not app_config.RATE_LIMITER_ENABLED:
            return
        limiter = self._rate_limiter()
        try:
            if redis_connection.enabled:
                await optional_redis.call(lambda: limiter(request, response))
            else:
                await limiter(request, response)
        except REDIS_CALL_ERRORS as error:
            await carry_on_without_redis(error, "rate limiter unavailable; request let through")

    @staticmethod
    async def _identify(request: Request) -> str:
        template = route_template(request.scope) or request.url.path
        return f"{client_address(request)}:{request.method}:{template}"

    async def _reject(self, request: Request, response: Response) -> None:
        metrics.count_rate_limited(route_template(request.scope))
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Too many requests; try again later",
            headers={"Retry-After": str(await self._seconds_until_allowed(request))},
        )

    async def _seconds_until_allowed(self, request: Request) -> int:
        """Whole seconds until this client's budget on this route allows one more request."""
        if self._factory is None:
            return self.window_seconds
        return await seconds_until_allowed(self._factory, await self._identify(request))
