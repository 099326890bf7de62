from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from fastapi import FastAPI, Request
from freezegun import freeze_time
from structlog.testing import capture_logs

from app.core.api import ConfigurableRateLimiter, client_address
from app.core.configs import app_config
from app.core.services import ratelimit
from app.core.services.redis import redis_connection
from tests.core.routes import (
    limit_one_per_hour_and_a_half,
    limit_one_per_two_minutes,
    limit_two_per_minute,
)
from tests.utils import client_at


@pytest.fixture
def limiter_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    limit_two_per_minute.reset()


async def test_third_request_in_the_window_is_429_with_retry_after(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_at(app, "198.51.100.1") as http:
        codes = [(await http.get("/test/limited/1")).status_code for _ in range(3)]
        rejected = await http.get("/test/limited/1")

    assert codes == [200, 200, 429]
    assert rejected.json() == {"detail": "Too many requests; try again later"}
    # Two a minute: the next request is allowed half a minute after the first two.
    assert 28 <= int(rejected.headers["retry-after"]) <= 30


async def test_retry_after_is_when_the_budget_allows_the_next_request(
    app: FastAPI, limiter_on: None
) -> None:
    start = datetime.now(UTC)
    async with client_at(app, "198.51.100.9") as http:
        with freeze_time(start, real_asyncio=True) as clock:
            codes = [(await http.get("/test/limited/1")).status_code for _ in range(3)]
            rejected = await http.get("/test/limited/1")
            wait = int(rejected.headers["retry-after"])
            clock.tick(wait - 2)
            early = await http.get("/test/limited/1")
            clock.tick(2)
            on_time = await http.get("/test/limited/1")

    assert codes == [200, 200, 429]
    assert early.status_code == 429
    assert on_time.status_code == 200


async def test_each_client_has_its_own_budget(app: FastAPI, limiter_on: None) -> None:
    async with (
        client_at(app, "198.51.100.2") as first,
        client_at(app, "198.51.100.3") as second,
    ):
        first_codes = [(await first.get("/test/limited/1")).status_code for _ in range(3)]
        second_codes = [(await second.get("/test/limited/1")).status_code for _ in range(2)]

    assert first_codes == [200, 200, 429]
    assert second_codes == [200, 200]


async def test_budget_is_per_route_template_not_per_concrete_path(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_at(app, "198.51.100.4") as http:
        codes = [(await http.get(f"/test/limited/{item}")).status_code for item in (1, 2, 3)]

    assert codes == [200, 200, 429]


async def test_spoofed_forwarded_for_from_an_untrusted_peer_gets_no_fresh_budget(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_at(app, "198.51.100.5") as http:
        codes = [
            (
                await http.get("/test/limited/1", headers={"X-Forwarded-For": f"203.0.113.{n}"})
            ).status_code
            for n in range(3)
        ]

    assert codes == [200, 200, 429]


async def test_forwarded_for_from_a_trusted_proxy_identifies_the_client(
    app: FastAPI, limiter_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        app_config, "TRUSTED_PROXIES", [__import__("ipaddress").ip_network("10.0.0.0/8")]
    )
    async with client_at(app, "10.1.2.3") as proxy:
        first = [
            (
                await proxy.get("/test/limited/1", headers={"X-Forwarded-For": "203.0.113.9"})
            ).status_code
            for _ in range(3)
        ]
        second = await proxy.get(
            "/test/limited/1", headers={"X-Forwarded-For": "203.0.113.10, 10.9.9.9"}
        )

    assert first == [200, 200, 429]
    assert second.status_code == 200


async def test_disabled_limiter_lets_everything_through(app: FastAPI) -> None:
    assert app_config.RATE_LIMITER_ENABLED is False
    async with client_at(app, "198.51.100.6") as http:
        codes = [(await http.get("/test/limited/1")).status_code for _ in range(5)]

    assert codes == [200] * 5


@pytest.mark.skipif(not app_config.REDIS_URL, reason="needs the Redis-backed limiter")
async def test_redis_outage_fails_open_with_a_warning(
    app: FastAPI, limiter_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.asyncio import Redis

    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    monkeypatch.setattr(redis_connection, "_client", unreachable)

    with capture_logs() as logs:
        async with client_at(app, "198.51.100.7") as http:
            codes = [(await http.get("/test/limited/1")).status_code for _ in range(3)]

    await unreachable.aclose()
    assert codes == [200, 200, 200]
    assert any(log["event"] == "Redis unavailable; carrying on without it" for log in logs)


@pytest.fixture
def behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "TRUSTED_PROXIES", [ip_network("10.0.0.0/8")])


async def limited_codes(app: FastAPI, peer: str, forwarded: list[str]) -> list[int]:
    async with client_at(app, peer) as http:
        return [
            (await http.get("/test/limited/1", headers={"X-Forwarded-For": value})).status_code
            for value in forwarded
        ]


@pytest.mark.usefixtures("behind_a_proxy")
async def test_an_untrusted_peer_is_limited_by_its_own_address_whatever_it_forwards(
    app: FastAPI, limiter_on: None
) -> None:
    codes = await limited_codes(app, "198.51.100.70", [f"203.0.113.{n}" for n in range(3)])

    assert codes == [200, 200, 429]


@pytest.mark.usefixtures("behind_a_proxy")
async def test_clients_behind_a_trusted_proxy_have_budgets_of_their_own(
    app: FastAPI, limiter_on: None
) -> None:
    first = await limited_codes(app, "10.0.0.1", ["203.0.113.71"] * 3)
    second = await limited_codes(app, "10.0.0.1", ["203.0.113.72"] * 2)

    assert first == [200, 200, 429]
    assert second == [200, 200]


@pytest.mark.usefixtures("behind_a_proxy")
async def test_a_multi_hop_header_counts_against_the_nearest_untrusted_address(
    app: FastAPI, limiter_on: None
) -> None:
    # Different far hops, the same nearest untrusted one: one budget.
    hops = [f"198.51.100.{n}, 203.0.113.73, 10.0.0.9" for n in range(3)]
    codes = await limited_codes(app, "10.0.0.1", hops)
    direct = await limited_codes(app, "10.0.0.1", ["203.0.113.73"])

    assert codes == [200, 200, 429]
    assert direct == [429]


@pytest.mark.usefixtures("behind_a_proxy")
async def test_a_non_ip_hop_counts_against_the_peer(app: FastAPI, limiter_on: None) -> None:
    odd = await limited_codes(app, "10.0.0.74", ["203.0.113.74, unknown", "203.0.113.75, _x"])
    peer = await limited_codes(app, "10.0.0.74", [""])

    assert odd == [200, 200]
    assert peer == [429]  # the peer's own budget was the one spent


async def test_one_limiter_on_two_routes_keeps_a_budget_per_route(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_at(app, "198.51.100.76") as http:
        first = [(await http.get("/test/limited/1")).status_code for _ in range(3)]
        second = [(await http.get("/test/limited-too")).status_code for _ in range(3)]

    assert first == [200, 200, 429]
    assert second == [200, 200, 429]


@pytest.mark.parametrize(
    ("limiter", "path", "window"),
    [
        (limit_one_per_two_minutes, "/test/limited-minutes", 120),
        (limit_one_per_hour_and_a_half, "/test/limited-hours", 5400),
    ],
)
async def test_minute_and_hour_windows_give_their_retry_after(
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    limiter: ConfigurableRateLimiter,
    path: str,
    window: int,
) -> None:
    # No reset first: a limiter works on its first use.
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    async with client_at(app, f"198.51.100.{77 if window == 120 else 78}") as http:
        with freeze_time(datetime.now(UTC), real_asyncio=True):
            allowed = await http.get(path)
            refused = await http.get(path)

    assert (limiter.window_seconds, allowed.status_code, refused.status_code) == (window, 200, 429)
    assert window - 1 <= int(refused.headers["retry-after"]) <= window


@pytest.mark.parametrize(
    "arguments",
    [
        {"times": 0, "seconds": 60},
        {"times": -1, "seconds": 60},
        {"times": 5},
        {"times": 5, "seconds": 0, "minutes": 0, "hours": 0},
        {"times": 5, "seconds": -60, "minutes": 1},
    ],
)
def test_a_limit_without_requests_or_window_is_refused(arguments: dict[str, int]) -> None:
    with pytest.raises(
        ValueError, match=r"^a rate limit needs times >= 1 and a window of at least a second$"
    ):
        ConfigurableRateLimiter(**arguments)


def test_one_request_in_one_second_is_a_valid_limit() -> None:
    limiter = ConfigurableRateLimiter(times=1, seconds=1)

    assert (limiter.times, limiter.window_seconds) == (1, 1)


def test_a_request_without_a_peer_counts_as_unknown() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})

    assert client_address(request) == "unknown"


def test_windows_add_up() -> None:
    assert ConfigurableRateLimiter(times=1, seconds=5, minutes=2, hours=1).window_seconds == 3725


@pytest.mark.skipif(bool(app_config.REDIS_URL), reason="the in-memory store (no Redis)")
async def test_the_memory_store_forgets_the_least_recently_used_client(
    app: FastAPI, limiter_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_MEMORY_BUCKETS", 2)
    async with (
        client_at(app, "198.51.100.81") as first,
        client_at(app, "198.51.100.82") as second,
        client_at(app, "198.51.100.83") as third,
    ):
        assert [(await first.get("/test/limited/1")).status_code for _ in range(2)] == [200, 200]
        await second.get("/test/limited/1")  # one left
        assert (await first.get("/test/limited/1")).status_code == 429  # first: used last
        await third.get("/test/limited/1")  # a third client: second, the least recent, goes
        first_again = await first.get("/test/limited/1")
        second_again = [(await second.get("/test/limited/1")).status_code for _ in range(2)]

    assert first_again.status_code == 429  # still remembered
    assert second_again == [200, 200]  # forgotten: a fresh budget


@pytest.mark.skipif(not app_config.REDIS_URL, reason="needs the Redis-backed limiter")
async def test_an_error_answer_from_redis_lets_the_request_through_with_a_warning(
    app: FastAPI, limiter_on: None
) -> None:
    # Redis answers, but with an error (here WRONGTYPE: the bucket's key holds a list).
    key = "ratelimit:198.51.100.90:GET:/test/limited/{item_id}"
    await redis_connection.client.delete(key)
    await redis_connection.client.rpush(key, "x")
    try:
        with capture_logs() as logs:
            async with client_at(app, "198.51.100.90") as http:
                codes = [(await http.get("/test/limited/1")).status_code for _ in range(3)]
    finally:
        await redis_connection.client.delete(key)

    assert codes == [200, 200, 200]
    warnings = [
        log for log in logs if log["event"] == "rate limiter unavailable; request let through"
    ]
    assert [log["error"] for log in warnings] == ["ResponseError"] * 3
