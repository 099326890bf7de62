"""Redis silent, slow or reset under the client (through a fault proxy): optional calls stay
within the request's budget, invalidations are kept and land once Redis answers, and a
connection closed under the client (uvloop's RuntimeError) counts as Redis unavailable."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from structlog.testing import capture_logs

from app.core.configs import AppConfig, app_config
from app.core.db.counts import CountCache
from app.core.services.cache import AiocacheService, build_cache
from app.core.services.redis import (
    OptionalRedis,
    RedisConnection,
    end_request_budget,
    redis_unavailable,
    start_request_budget,
)
from scripts.fault_proxy import FaultProxy, Mode

pytestmark = pytest.mark.skipif(not app_config.REDIS_URL, reason="needs Redis")

BUDGET = 0.25
SLACK = 0.5


class Faulty:
    """A cache service whose Redis goes through a fault proxy."""

    def __init__(self, proxy: FaultProxy, config: AppConfig) -> None:
        self.proxy = proxy
        self.connection = RedisConnection(config)
        self.connection.connect()
        self.redis = OptionalRedis(config, self.connection)
        self.cache = AiocacheService(build_cache(config, self.connection.client), self.redis)

    async def close(self) -> None:
        await self.cache.close()
        await self.redis.close()
        await self.connection.disconnect()


async def faulty(proxy: FaultProxy) -> Faulty:
    config = app_config.model_copy(
        update={
            "REDIS_URL": proxy.url(app_config.REDIS_URL),
            "REDIS_TIMEOUT": 1.0,
            "REDIS_REQUEST_BUDGET": BUDGET,
            "CACHE_NAMESPACE": f"faults-{uuid.uuid4().hex[:8]}",
        }
    )
    return Faulty(proxy, config)


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy.for_url(app_config.REDIS_URL).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def service(proxy: FaultProxy) -> AsyncIterator[Faulty]:
    service = await faulty(proxy)
    yield service
    end_request_budget()
    await service.close()


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


def test_transport_errors_count_as_redis_unavailable() -> None:
    closed = RuntimeError(
        "unable to perform operation on <TCPTransport closed=True reading=False 0x7f>; "
        "the handler is closed"
    )
    assert redis_unavailable(closed)
    assert redis_unavailable(ConnectionResetError())
    assert redis_unavailable(TimeoutError())
    assert not redis_unavailable(ResponseError("WRONGTYPE Operation against a key"))
    assert not redis_unavailable(RuntimeError("a bug of our own"))


@pytest.mark.parametrize("mode", [Mode.BLACKHOLE, Mode.DELAY])
async def test_a_silent_or_slow_redis_costs_a_request_its_budget_at_most(
    service: Faulty, mode: Mode
) -> None:
    await service.cache.set("kept", "value", ttl=60)
    service.proxy.set_mode(mode, delay=0.5)
    start_request_budget(BUDGET)
    started = time.monotonic()
    for _ in range(3):  # a list page: count version, total, a cached item
        assert await service.cache.get("kept", "miss") == "miss"
    await service.cache.set("other", "value", ttl=60)
    assert time.monotonic() - started < BUDGET + SLACK
    assert service.redis.suspended

    service.proxy.set_mode(Mode.PASS)
    end_request_budget()

    async def answering() -> bool:
        return bool(await service.cache.get("kept") == "value")

    await eventually(answering)


async def test_reconnecting_to_a_slow_redis_is_not_cut_short_by_the_budget(
    service: Faulty,
) -> None:
    await service.cache.set("kept", "value", ttl=60)
    service.proxy.reset()  # every pooled connection gone: the next call must reconnect
    service.proxy.set_mode(Mode.DELAY, delay=0.3)  # each round trip over the budget
    start_request_budget(BUDGET)
    assert await service.cache.get("kept", "miss") == "miss"
    end_request_budget()

    # The probe reconnects with the full REDIS_TIMEOUT; calls resume once it has.
    await eventually(lambda: asyncio.sleep(0, not service.redis.suspended))
    assert await service.cache.get("kept") == "value"


async def test_invalidations_made_while_redis_is_silent_land_when_it_answers(
    service: Faulty,
) -> None:
    await service.cache.set("stale", "old", ttl=60)
    counts = CountCache(service.cache, ttl_seconds=60)
    version_key = counts._version_key("widgets")
    await service.cache.replace(version_key, "v1")
    service.proxy.set_mode(Mode.BLACKHOLE)
    start_request_budget(BUDGET)
    started = time.monotonic()
    await service.cache.delete("stale")
    await counts.bump(["widgets"])
    assert time.monotonic() - started < BUDGET + SLACK
    assert service.redis.pending == 2
    end_request_budget()

    service.proxy.set_mode(Mode.PASS)

    async def landed() -> bool:
        return service.redis.pending == 0 and not service.redis.suspended

    await eventually(landed)
    assert await service.cache.get("stale", "gone") == "gone"
    assert await service.cache.get(version_key) not in (None, "v1")


async def test_a_silent_redis_is_skipped_until_it_answers_then_used_again(
    service: Faulty,
) -> None:
    service.proxy.set_mode(Mode.BLACKHOLE)
    with capture_logs() as logs:
        assert await service.cache.get("anything", "miss") == "miss"
        started = time.monotonic()
        for _ in range(50):  # skipped at once while the probe waits for Redis
            assert await service.cache.get("anything", "miss") == "miss"
        assert time.monotonic() - started < SLACK
    warnings = [log for log in logs if log["event"].startswith("Redis unavailable")]
    assert len(warnings) == 1
    service.proxy.set_mode(Mode.PASS)
    await eventually(lambda: asyncio.sleep(0, not service.redis.suspended))
    await service.cache.set("anything", "hit", ttl=60)
    assert await service.cache.get("anything") == "hit"


def test_a_connection_reset_under_uvloop_is_a_miss_not_an_error() -> None:
    """uvloop raises RuntimeError when redis-py writes to a connection reset under it."""

    async def scenario() -> list[object]:
        proxy = await FaultProxy.for_url(app_config.REDIS_URL).start()
        service = await faulty(proxy)
        seen: list[object] = []
        try:
            await service.cache.set("kept", "value", ttl=60)
            seen.append(await service.cache.get("kept"))
            proxy.reset()
            await asyncio.sleep(0.1)
            seen.append(await service.cache.get("kept", "miss"))
            await service.cache.delete("kept")  # kept for later, not raised

            async def recovered() -> bool:
                return not service.redis.suspended and service.redis.pending == 0

            await eventually(recovered)
            seen.append(await service.cache.get("kept", "gone"))
            raw = Redis.from_url(proxy.url(app_config.REDIS_URL))
            await raw.ping()
            proxy.reset()
            await asyncio.sleep(0.1)
            try:
                await raw.ping()
            except Exception as error:  # what redis-py lets through, classified
                seen.append(redis_unavailable(error))
            else:
                seen.append(True)
            await raw.aclose()
        finally:
            await service.close()
            await proxy.stop()
        return seen

    assert uvloop.run(scenario()) == ["value", "miss", "gone", True]
