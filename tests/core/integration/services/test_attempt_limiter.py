"""``AttemptLimiter``: budgets per key for work inside services, in memory or (when the suite
runs with it) in Redis."""

import uuid
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from freezegun import freeze_time
from structlog.testing import capture_logs

from app.core.configs import app_config
from app.core.exceptions import TooManyAttempts
from app.core.services.ratelimit import AttemptLimiter
from app.core.services.redis import redis_connection

needs_redis = pytest.mark.skipif(not app_config.REDIS_URL, reason="needs Redis")


@pytest.fixture(autouse=True)
def limiter_on(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits on, and the app's lifespan running: it opens Redis when the suite uses it."""
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)


def new_limiter(times: int, seconds: int) -> AttemptLimiter:
    """A limiter with a name of its own: no budget left in Redis by another test or run."""
    return AttemptLimiter(f"test-{uuid.uuid4().hex[:12]}", times, seconds)


async def spend(limiter: AttemptLimiter, *keys: str) -> int | None:
    """One attempt: ``None`` when allowed, else the seconds to wait."""
    try:
        async with limiter.attempt(*keys):
            pass
    except TooManyAttempts as refused:
        return refused.retry_after
    return None


@pytest.mark.parametrize(("times", "seconds"), [(0, 60), (-1, 60), (3, 0), (3, -1)])
def test_a_limit_without_attempts_or_window_is_refused(times: int, seconds: int) -> None:
    with pytest.raises(
        ValueError, match=r"^an attempt limit needs times >= 1 and a window of at least a second$"
    ):
        AttemptLimiter("invalid", times, seconds)


async def test_one_attempt_a_second_is_a_limit_and_a_wait_under_a_second_is_one() -> None:
    limiter = new_limiter(1, 1)

    with freeze_time(datetime.now(UTC), real_asyncio=True) as clock:
        first = await spend(limiter, "key")
        clock.tick(0.5)
        second = await spend(limiter, "key")
        clock.tick(0.6)
        third = await spend(limiter, "key")

    assert (first, second, third) == (None, 1, None)


async def test_retry_after_counts_down_the_window() -> None:
    limiter = new_limiter(1, 3600)

    with freeze_time(datetime.now(UTC), real_asyncio=True) as clock:
        await spend(limiter, "key")
        at_once = await spend(limiter, "key")
        clock.tick(1800)
        half_way = await spend(limiter, "key")

    assert (at_once, half_way) == (3600, 1800)


async def test_each_key_and_each_limiter_has_a_budget_of_its_own() -> None:
    one, other = new_limiter(1, 60), new_limiter(1, 60)

    with freeze_time(datetime.now(UTC), real_asyncio=True):
        spent = [await spend(one, "a"), await spend(one, "b"), await spend(other, "a")]
        again = await spend(one, "a")

    assert spent == [None, None, None]
    assert again == 60


async def test_an_attempt_spends_every_key_it_names() -> None:
    limiter = new_limiter(1, 60)

    await spend(limiter, "user:1", "client:a")

    assert await spend(limiter, "client:a") is not None
    assert await spend(limiter, "user:1") is not None
    assert await spend(limiter, "user:2", "client:b") is None


async def test_a_key_with_an_attempt_in_flight_is_refused_at_once() -> None:
    limiter = new_limiter(5, 60)

    async with limiter.attempt("key"):
        during = [await spend(limiter, "key"), await spend(limiter, "other", "key")]
        elsewhere = await spend(limiter, "other")

    assert during == [1, 1]
    assert elsewhere is None
    assert await spend(limiter, "key") is None  # the attempt ended: the key is free again


async def test_nothing_is_counted_when_limits_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", False)
    limiter = new_limiter(1, 60)

    assert [await spend(limiter, "key") for _ in range(3)] == [None, None, None]


@needs_redis
async def test_redis_keeps_a_budget_under_the_limiters_name_for_two_windows() -> None:
    limiter = new_limiter(1, 60)
    key = f"ratelimit:{limiter.name}:key"
    try:
        await spend(limiter, "key")
        ttl = await redis_connection.client.pttl(key)
    finally:
        await redis_connection.client.delete(key)

    assert 60_000 < ttl <= 120_000


@needs_redis
async def test_an_error_answer_from_redis_lets_the_attempt_through_with_a_warning() -> None:
    limiter = new_limiter(1, 60)
    key = f"ratelimit:{limiter.name}:key"
    await redis_connection.client.rpush(key, "x")  # WRONGTYPE for the bucket's commands
    try:
        with capture_logs() as logs:
            allowed = [await spend(limiter, "key") for _ in range(3)]
    finally:
        await redis_connection.client.delete(key)

    assert allowed == [None, None, None]
    warnings = [
        log for log in logs if log["event"] == "attempt limiter unavailable; attempt let through"
    ]
    assert [log["error"] for log in warnings] == ["ResponseError"] * 3
