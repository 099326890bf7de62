"""A PostgreSQL that stops answering (through a fault proxy): every wait ends, every pool slot
comes back, and the next query after the silence works, however many silences there were."""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import QueuePool

from app.core.api.health import ReadinessChecks
from app.core.configs import AppConfig, app_config
from app.core.db import Database, DatabaseRole, create_engine, database
from app.core.db.counts import AppSession
from app.core.db.session import DatabaseTimeouts
from scripts.fault_proxy import FaultProxy, Mode

pytestmark = pytest.mark.skipif(
    not app_config.DATABASE_URL.startswith("postgresql"), reason="needs PostgreSQL"
)

STATEMENT_TIMEOUT = 1.0
MARGIN = 0.5
# What a caller may wait beyond the answer deadline (closing, the event loop, a slow machine).
SLACK = 1.5


def silent_config(**changes: object) -> AppConfig:
    return app_config.model_copy(
        update={
            "DATABASE_STATEMENT_TIMEOUT": STATEMENT_TIMEOUT,
            "DATABASE_ANSWER_MARGIN": MARGIN,
            "DATABASE_POOL_SIZE": 3,
            "DATABASE_MAX_OVERFLOW": 0,
            "DATABASE_POOL_TIMEOUT": 5.0,
            "DATABASE_CONNECT_TIMEOUT": 1.0,
            **changes,
        }
    )


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy.for_url(app_config.DATABASE_URL).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def engine(proxy: FaultProxy) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(silent_config(), url=proxy.url(app_config.DATABASE_URL))
    yield engine
    await engine.dispose()


async def select_one(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT 1"))).scalar_one())


def checked_out(engine: AsyncEngine) -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


async def test_each_role_gets_its_server_side_limits_and_tcp_keepalives() -> None:
    engine = create_engine(app_config, role=DatabaseRole.WORKER)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('statement_timeout', 'idle_in_transaction_session_timeout')"
                )
            )
            settings: dict[str, str] = dict(rows.all())
            raw = await connection.get_raw_connection()
            parameters = raw.driver_connection.info.get_parameters()  # type: ignore[union-attr]
    finally:
        await engine.dispose()
    worker = DatabaseTimeouts.for_role(app_config, DatabaseRole.WORKER)
    assert settings == {
        "statement_timeout": str(round(worker.statement * 1000)),
        "idle_in_transaction_session_timeout": str(round(worker.idle_in_transaction * 1000)),
    }
    assert parameters["keepalives"] == "1"
    assert int(parameters["tcp_user_timeout"]) == round(app_config.DATABASE_TCP_TIMEOUT * 1000)
    api = DatabaseTimeouts.for_role(app_config, DatabaseRole.API)
    migration = DatabaseTimeouts.for_role(app_config, DatabaseRole.MIGRATION)
    assert api.statement < worker.statement < migration.statement


async def test_a_statement_over_the_limit_is_ended_by_the_server(engine: AsyncEngine) -> None:
    started = time.monotonic()
    with pytest.raises(OperationalError, match="statement timeout"):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(30)"))
    assert time.monotonic() - started < STATEMENT_TIMEOUT + SLACK
    assert await select_one(engine) == 1


async def test_five_silences_in_a_row_hold_no_slot_and_leave_the_pool_working(
    engine: AsyncEngine, proxy: FaultProxy
) -> None:
    for _ in range(3):  # warm connections in the pool, as under load
        assert await select_one(engine) == 1
    for silence in range(5):
        proxy.set_mode(Mode.BLACKHOLE)
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(select_one(engine) for _ in range(3)), return_exceptions=True
        )
        waited = time.monotonic() - started
        assert all(isinstance(outcome, OperationalError) for outcome in outcomes), outcomes
        assert waited < STATEMENT_TIMEOUT + MARGIN + SLACK, f"silence {silence}: {waited:.1f} s"
        assert checked_out(engine) == 0
        proxy.set_mode(Mode.PASS)
        started = time.monotonic()
        assert await select_one(engine) == 1, f"after silence {silence}"
        assert time.monotonic() - started < SLACK


async def test_a_silence_mid_transaction_ends_the_commit_too(
    engine: AsyncEngine, proxy: FaultProxy
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        proxy.set_mode(Mode.BLACKHOLE)
        started = time.monotonic()
        with pytest.raises(OperationalError):
            await connection.commit()
        assert time.monotonic() - started < STATEMENT_TIMEOUT + MARGIN + SLACK
    proxy.set_mode(Mode.PASS)
    assert checked_out(engine) == 0
    assert await select_one(engine) == 1


async def test_cancelling_a_query_to_a_silent_server_closes_its_connection_at_once(
    engine: AsyncEngine, proxy: FaultProxy
) -> None:
    assert await select_one(engine) == 1
    proxy.set_mode(Mode.BLACKHOLE)
    query = asyncio.create_task(select_one(engine))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    query.cancel()
    await asyncio.gather(query, return_exceptions=True)
    assert time.monotonic() - started < 0.5  # no polite cancel request to a server that is gone
    assert checked_out(engine) == 0
    proxy.set_mode(Mode.PASS)
    assert await select_one(engine) == 1


async def test_a_request_to_a_silent_database_answers_503_and_the_next_one_works(
    app: FastAPI, engine: AsyncEngine, proxy: FaultProxy
) -> None:
    original = database.sessionmaker
    database.sessionmaker = async_sessionmaker(engine, class_=AppSession, expire_on_commit=False)
    transport = httpx.ASGITransport(app=app)
    form = {"username": "nobody", "password": "wrong password"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.post("/api/v1/auth/login", data=form)).status_code == 401
            proxy.set_mode(Mode.BLACKHOLE)
            started = time.monotonic()
            silent = await http.post("/api/v1/auth/login", data=form)
            assert time.monotonic() - started < STATEMENT_TIMEOUT + MARGIN + SLACK
            proxy.set_mode(Mode.PASS)
            assert silent.status_code == 503
            assert silent.json() == {"detail": "Database temporarily unavailable"}
            assert int(silent.headers["retry-after"]) > 0
            assert checked_out(engine) == 0
            assert (await http.post("/api/v1/auth/login", data=form)).status_code == 401

            proxy.reset()  # connections cut under the pool: one 503 at most, then answers
            assert (await http.post("/api/v1/auth/login", data=form)).status_code in (401, 503)
            assert (await http.post("/api/v1/auth/login", data=form)).status_code == 401
            assert checked_out(engine) == 0
    finally:
        database.sessionmaker = original


async def test_readiness_reports_a_silent_database_within_its_timeout(proxy: FaultProxy) -> None:
    silent = Database(silent_config(DATABASE_URL=proxy.url(app_config.DATABASE_URL)))
    silent.connect()
    checks = ReadinessChecks(timeout=0.5)
    checks.register("database", silent.ping)
    try:
        assert await checks.run() == {"database": "ok"}
        proxy.set_mode(Mode.BLACKHOLE)
        await asyncio.sleep(1.1)  # past the shared round
        started = time.monotonic()
        assert await checks.run() == {"database": "unavailable"}
        assert time.monotonic() - started < 0.5 + 0.3
    finally:
        proxy.set_mode(Mode.PASS)
        await silent.disconnect()
