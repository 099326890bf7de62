import httpx
import pytest

from app.core.api.health import readiness_checks
from app.core.configs import app_config
from app.core.db import Database


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


async def test_ready_is_503_naming_what_is_down(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second database on a port where nothing listens.
    closed_port = app_config.model_copy(
        update={"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    )
    reports_db = Database(closed_port)
    reports_db.connect()
    monkeypatch.setitem(readiness_checks._checks, "reports_db", reports_db.ping)
    try:
        response = await client.get("/health/ready")
    finally:
        await reports_db.disconnect()

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "reports_db": "unavailable"} | {
        name: "ok" for name in body["checks"] if name not in {"database", "reports_db"}
    }
    assert body["detail"] == "unavailable: reports_db"
