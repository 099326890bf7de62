"""Budgets per key, for rate limits on routes and on work inside services: one GCRA bucket
per key (a client and route, an account), in Redis when ``REDIS_URL`` is set, else in a bounded
in-process LRU.

``AttemptLimiter`` guards expensive or guessable work in services (password checks); the HTTP
limiter of ``app.core.api`` builds on the same buckets.
"""

import contextlib
import inspect
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator

from pyrate_limiter import (
    GCRA,
    BucketFactory,
    InMemoryStateStore,
    Limiter,
    Rate,
    RateItem,
    RedisStateStore,
    StateBucket,
    StateStore,
)

from app.core.configs import app_config
from app.core.exceptions import TooManyAttempts
from app.core.services.redis import (
    REDIS_CALL_ERRORS,
    carry_on_without_redis,
    optional_redis,
    redis_connection,
)

MAX_MEMORY_BUCKETS = 10_000


class KeyedBucketFactory(BucketFactory):
    """One GCRA bucket per key: a few numbers each, in Redis (expiring) or in a bounded LRU."""

    def __init__(self, rates: list[Rate], window_ms: int) -> None:
        self._rates = rates
        self._window_ms = window_ms
        self._buckets: OrderedDict[str, StateBucket] = OrderedDict()

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        # Wall-clock milliseconds: Redis state is shared by processes on several hosts.
        return RateItem(name, int(time.time() * 1000), weight)

    def get(self, item: RateItem) -> StateBucket:
        bucket = self._buckets.get(item.name)
        if bucket is None:
            bucket = StateBucket(self._rates, GCRA(), self._store(item.name))
            self._buckets[item.name] = bucket
            if len(self._buckets) > MAX_MEMORY_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(item.name)
        return bucket

    def _store(self, key: str) -> StateStore:
        if redis_connection.enabled:
            return RedisStateStore(
                redis_connection.client, f"ratelimit:{key}", ttl_ms=self._window_ms * 2
            )
        return InMemoryStateStore()


async def seconds_until_allowed(factory: KeyedBucketFactory, key: str) -> int:
    """Whole seconds until the budget of ``key`` allows one more request (at least 1)."""
    item = factory.wrap_item(key)
    waiting = factory.get(item).waiting(item)
    milliseconds = await waiting if inspect.isawaitable(waiting) else waiting
    return max(1, math.ceil(milliseconds / 1000))


class AttemptLimiter:
    """A budget of ``times`` attempts per ``seconds`` for each key (an account, a client),
    for services guarding expensive or guessable work such as password checks; shared through
    Redis when configured. ``attempt(key)`` also refuses a key that already has an attempt in
    flight in this process, so one caller cannot queue up work that others wait behind.
    Raises ``TooManyAttempts`` (429). Off when ``RATE_LIMITER_ENABLED`` is false; if Redis
    fails, the budget is not enforced and a warning is logged.
    """

    def __init__(self, name: str, times: int, seconds: int) -> None:
        if times < 1 or seconds < 1:
            raise ValueError("an attempt limit needs times >= 1 and a window of at least a second")
        self.name = name
        self.times = times
        self.window_seconds = seconds
        # Built on first use, after the lifespan opened Redis.
        self._buckets: tuple[KeyedBucketFactory, Limiter] | None = None
        self._in_flight: set[str] = set()

    def reset(self) -> None:
        """Forget every budget held in memory (tests)."""
        self._buckets = None

    @contextlib.asynccontextmanager
    async def attempt(self, *keys: str) -> AsyncIterator[None]:
        """Count one attempt against every key; the block is the attempt."""
        if not app_config.RATE_LIMITER_ENABLED:
            yield
            return
        names = [f"{self.name}:{key}" for key in keys]
        if any(name in self._in_flight for name in names):
            raise TooManyAttempts(retry_after=1)
        for name in names:
            await self._spend(name)
        self._in_flight.update(names)
        try:
            yield
        finally:
            self._in_flight.difference_update(names)

    async def _spend(self, name: str) -> None:
        if self._buckets is None:
            window_ms = self.window_seconds * 1000
            factory = KeyedBucketFactory([Rate(self.times, window_ms)], window_ms)
            self._buckets = factory, Limiter(factory)
        factory, limiter = self._buckets

        async def spend() -> int | None:
            if await limiter.try_acquire_async(name, blocking=False):
                return None
            return await seconds_until_allowed(factory, name)

        try:
            retry_after = await (
                optional_redis.call(spend) if redis_connection.enabled else spend()
            )
        except REDIS_CALL_ERRORS as error:
            await carry_on_without_redis(error, "attempt limiter unavailable; attempt let through")
            return
        if retry_after is not None:
            raise TooManyAttempts(retry_after=retry_after)


__all__ = [
    "AttemptLimiter",
]
