from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import httpx
import pydantic
import pytest
from structlog.testing import capture_logs

from app.core.configs import app_config
from app.core.services.cache import AiocacheService, build_cache
from app.core.services.redis import OptionalRedis, RedisConnection
from tests.core.routes import cached_calls, cached_item


class Profile(pydantic.BaseModel):
    name: str
    born: date


def providers() -> list[str]:
    return ["memory", "redis"] if app_config.REDIS_URL else ["memory"]


@pytest.fixture(params=providers())
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[AiocacheService]:
    url = app_config.REDIS_URL if request.param == "redis" else ""
    service = AiocacheService(build_cache(app_config.model_copy(update={"REDIS_URL": url})))
    yield service
    await service.close()


async def test_set_get_delete_round_trip(cache: AiocacheService) -> None:
    value = {
        "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "day": date(2024, 1, 2),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "price": Decimal("9.99"),
        "tags": {"a"},
        "nested": [1, None, "x"],
    }

    await cache.set("round-trip", value, ttl=30)
    assert await cache.get("round-trip") == value

    await cache.delete("round-trip")
    assert await cache.get("round-trip", "missing") == "missing"


async def test_none_is_cached_and_distinct_from_a_miss(cache: AiocacheService) -> None:
    await cache.set("nothing", None, ttl=30)

    assert await cache.get("nothing", "missing") is None
    assert await cache.get("never-set", "missing") == "missing"


async def test_pydantic_models_round_trip_with_as_type(cache: AiocacheService) -> None:
    await cache.set("profile", Profile(name="ann", born=date(1990, 5, 17)), ttl=30)

    restored = await cache.get("profile", as_type=Profile)

    assert restored == Profile(name="ann", born=date(1990, 5, 17))


async def test_values_that_are_not_json_safe_are_refused(cache: AiocacheService) -> None:
    with pytest.raises(TypeError):
        await cache.set("object", object())


async def test_redis_outage_degrades_to_misses_and_dropped_writes() -> None:
    closed = app_config.model_copy(
        update={"REDIS_URL": "redis://127.0.0.1:9/0", "REDIS_TIMEOUT": 0.5}
    )
    connection = RedisConnection(closed)
    connection.connect()
    redis = OptionalRedis(closed, connection)
    cache = AiocacheService(build_cache(closed, connection.client), redis)

    with capture_logs() as logs:
        await cache.set("k", 1, ttl=10)
        value = await cache.get("k", "fallback")
        await cache.delete("k")

    assert value == "fallback"
    assert [(log["event"], log["log_level"]) for log in logs] == [
        ("Redis unavailable; carrying on without it", "warning")
    ]
    assert redis.suspended
    assert redis.pending == 1  # the delete, sent once Redis answers
    with capture_logs() as logs:
        await redis.close()
    assert [log["event"] for log in logs] == ["Redis unreachable at shutdown; invalidations lost"]
    await cache.close()
    await connection.disconnect()


async def test_a_cached_function_forgets_the_entry_of_the_arguments_given(
    client: httpx.AsyncClient,
) -> None:
    cached_calls["count"] = 0
    assert (await client.get("/test/cached/7")).json()["calls"] == 1
    assert (await client.get("/test/cached/7?lang=fr")).json()["calls"] == 2
    assert (await client.get("/test/cached/8")).json()["calls"] == 3

    await cached_item.invalidate(item_id=7)  # lang takes its default, the session is ignored

    assert (await client.get("/test/cached/7")).json()["calls"] == 4
    assert (await client.get("/test/cached/7?lang=fr")).json()["calls"] == 2
    assert (await client.get("/test/cached/8")).json()["calls"] == 3
    await cached_item.invalidate(8)  # positionally, the same entry
    assert (await client.get("/test/cached/8")).json()["calls"] == 5


async def test_cached_path_operation_returns_the_stored_response(client: httpx.AsyncClient) -> None:
    cached_calls["count"] = 0

    first = await client.get("/test/cached/41")
    second = await client.get("/test/cached/41")
    other = await client.get("/test/cached/42")

    assert first.status_code == second.status_code == 200
    assert (
        first.json() == second.json() == {"id": 41, "made_at": "2024-05-01T12:30:00Z", "calls": 1}
    )
    assert other.json()["calls"] == 2
    assert cached_calls["count"] == 2
