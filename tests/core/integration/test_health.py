import asyncio
import re
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from app.core.api.health import RESULT_TTL_SECONDS, ReadinessChecks, readiness_checks
from app.core.configs import app_config
from app.core.db import Database, utcnow
from app.core.db.counts import AppSession
from app.core.services.outbox import OutboxMessage


async def test_health_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_each_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"


async def test_ready_is_503_naming_what_is_down(client: httpx.AsyncClient) -> None:
    # A second database on a port where nothing listens.
    closed_port = app_config.model_copy(
        update={"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    )
    reports_db = Database(closed_port)
    reports_db.connect()
    readiness_checks.register("reports_db", reports_db.ping)
    try:
        response = await client.get("/health/ready")
    finally:
        readiness_checks.unregister("reports_db")
        await reports_db.disconnect()

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "reports_db": "unavailable"} | {
        name: "ok" for name in body["checks"] if name not in {"database", "reports_db"}
    }
    assert body["detail"] == "unavailable: reports_db"


async def test_probes_within_a_second_share_one_round_of_checks() -> None:
    calls = 0

    async def check() -> None:
        nonlocal calls
        calls += 1

    readiness_checks.register("counted", check)
    try:
        for _ in range(5):
            assert (await readiness_checks.run())["counted"] == "ok"
    finally:
        readiness_checks.unregister("counted")

    assert calls == 1


async def test_ready_is_rate_limited(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.api.health import READY_RATE_LIMIT

    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    monkeypatch.setattr(READY_RATE_LIMIT, "times", 2)
    READY_RATE_LIMIT.reset()
    try:
        codes = [(await client.get("/health/ready")).status_code for _ in range(3)]
    finally:
        READY_RATE_LIMIT.reset()

    assert codes == [200, 200, 429]


async def test_a_check_slow_to_give_up_counts_as_down_within_the_timeout() -> None:
    checks = ReadinessChecks(timeout=0.3)
    finished = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:  # slow to cancel, as a polite query cancel can be
            await asyncio.sleep(2)
            finished.set()
            raise

    checks.register("stuck", stuck)
    started = time.monotonic()
    assert await checks.run() == {"stuck": "unavailable"}
    assert time.monotonic() - started < 1.0
    await asyncio.wait_for(finished.wait(), timeout=5)  # cancelled all the same


def test_the_readiness_timeout_is_configured() -> None:
    assert readiness_checks.timeout == app_config.HEALTH_CHECK_TIMEOUT


async def test_ready_warns_while_queued_tasks_wait_too_long(
    client: httpx.AsyncClient, db: AppSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_config, "OUTBOX_WARN_AFTER_SECONDS", 30)
    long_ago = utcnow() - timedelta(minutes=2)
    for _ in range(2):
        db.add(
            OutboxMessage(
                task_name="tests.stuck",
                arguments={},
                task_id=uuid.uuid4().hex,
                send_after=long_ago,
                created_at=long_ago,
            )
        )
    await db.flush()
    await asyncio.sleep(RESULT_TTL_SECONDS)  # a round of checks from before is not reused

    with capture_logs() as logs:
        response = await client.get("/health/ready")

    assert response.status_code == 200  # a warning, not a failure
    body = response.json()
    assert body["status"] == "warning"
    assert re.fullmatch(
        r"warning: 2 tasks waiting, the oldest for 12\d s", body["checks"]["outbox"]
    )
    assert any(log["event"] == "tasks wait in the outbox" for log in logs)
