"""The request's session: a connection lost before it closes does not break the response."""

import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from structlog.testing import capture_logs

from app.core.configs import app_config
from app.core.db import database, get_db_session

pytestmark = pytest.mark.skipif(
    not app_config.DATABASE_URL.startswith("postgresql"), reason="terminates a PostgreSQL backend"
)


async def test_a_connection_lost_before_closing_is_logged_not_raised(app: FastAPI) -> None:
    sessions = get_db_session(Request({"type": "http", "method": "POST", "headers": []}))
    session = await anext(sessions)
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    async with database.engine.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    with capture_logs() as logs:
        await sessions.aclose()  # type: ignore[attr-defined]  # closing rolls back on the dead connection

    assert [log["event"] for log in logs] == ["database connection lost while closing a session"]
    async with database.session() as fresh:
        assert (await fresh.execute(text("SELECT 1"))).scalar_one() == 1
