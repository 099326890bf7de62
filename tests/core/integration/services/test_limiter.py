from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from freezegun import freeze_time
from structlog.testing import capture_logs

from app.core.configs import app_config
from app.core.services.redis import redis_connection
from tests.core.routes import limit_two_per_minute


@pytest.fixture
def limiter_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    limit_two_per_minute.reset()


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_third_request_in_the_window_is_429_with_retry_after(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_from(app, "198.51.100.1") as http:
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
    async with client_from(app, "198.51.100.9") as http:
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
        client_from(app, "198.51.100.2") as first,
        client_from(app, "198.51.100.3") as second,
    ):
        first_codes = [(await first.get("/test/limited/1")).status_code for _ in range(3)]
        second_codes = [(await second.get("/test/limited/1")).status_code for _ in range(2)]

    assert first_codes == [200, 200, 429]
    assert second_codes == [200, 200]


async def test_budget_is_per_route_template_not_per_concrete_path(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_from(app, "198.51.100.4") as http:
        codes = [(await http.get(f"/test/limited/{item}")).status_code for item in (1, 2, 3)]

    assert codes == [200, 200, 429]


async def test_spoofed_forwarded_for_from_an_untrusted_peer_gets_no_fresh_budget(
    app: FastAPI, limiter_on: None
) -> None:
    async with client_from(app, "198.51.100.5") as http:
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
    async with client_from(app, "10.1.2.3") as proxy:
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
    async with client_from(app, "198.51.100.6") as http:
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
        async with client_from(app, "198.51.100.7") as http:
            codes = [(await http.get("/test/limited/1")).status_code for _ in range(3)]

    await unreachable.aclose()
    assert codes == [200, 200, 200]
    assert any(log["event"] == "Redis unavailable; carrying on without it" for log in logs)
