"""Shared fixtures: one app and one set of tables per run, one rolled-back transaction per test."""

import asyncio
import faulthandler
import sys
import time
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from email.message import EmailMessage

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import InMemoryBroker

import tests.core.models  # noqa: F401  (test-only tables)
from app.core import models as every_model  # noqa: F401  (every module's tables)
from app.core.configs import AppConfig, app_config
from app.core.db import BaseModel, database
from app.core.db.counts import AppSession, count_cache
from app.core.services.cache import cache_service
from app.core.services.mail import OutboxTransport, SMTPTransport, mail_service
from app.core.services.queue import broker
from app.core.services.redis import optional_redis, redis_connection
from app.main import create_app
from tests.core.routes import router as test_router
from tests.factories.async_alchemy_factory import current_session
from tests.mail import APP_URL_LINK_BASES, Mailbox, SMTPServer
from tests.queue import drain_queue
from tests.services import unreachable_services

# No test takes this long; one that does is hung: every thread's stack is printed and the run
# ends, instead of waiting for CI's own limit.
HUNG_TEST_SECONDS = 240


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    faulthandler.dump_traceback_later(HUNG_TEST_SECONDS, exit=True, file=sys.__stderr__ or 2)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()


def pytest_sessionstart(session: pytest.Session) -> None:
    down = unreachable_services(app_config.DATABASE_URL, app_config.REDIS_URL)
    if down:
        pytest.exit(
            f"Not reachable: {', '.join(down)}. Start them at the addresses in .test.env "
            "(see README, Testing) or run `make test-embedded` to use the embedded backends.",
            returncode=3,
        )


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: SMTPServer) -> Mailbox:
    smtp_server.mailbox.clear()
    return smtp_server.mailbox


def smtp_config(port: int) -> AppConfig:
    return app_config.model_copy(update={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port})


@pytest.fixture(scope="session")
async def app(smtp_server: SMTPServer) -> AsyncIterator[FastAPI]:
    application = create_app()
    application.include_router(test_router)
    async with LifespanManager(application):
        if app_config.SMTP_HOST:
            # Real mode: mail goes to the in-process SMTP server, on whatever port it got.
            mail_service.use(SMTPTransport(smtp_config(smtp_server.port)))
        if redis_connection.enabled:
            await redis_connection.client.flushdb()
            await broker.startup()
        if isinstance(broker, InMemoryBroker):
            # Run tasks inline: a test's one connection cannot serve two tasks at once.
            broker.await_inplace = True
        async with database.engine.begin() as connection:
            await connection.run_sync(BaseModel.metadata.drop_all)
            await connection.run_sync(BaseModel.metadata.create_all)
        yield application
        async with database.engine.begin() as connection:
            await connection.run_sync(BaseModel.metadata.drop_all)


@pytest.fixture(autouse=True)
async def finish_in_process_tasks() -> AsyncIterator[None]:
    """Tasks a test started on the embedded broker end within it, not in the next test's
    transaction."""
    yield
    if isinstance(broker, InMemoryBroker):
        await broker.wait_all()


@pytest.fixture(autouse=True)
async def fresh_cache() -> AsyncIterator[None]:
    """Each test starts with an empty cache (``@cached`` responses, marks, totals) and full
    rate-limit budgets in Redis (on SQLite, the next test's user may get the same id), and one
    that made Redis fail leaves no skipped calls or replays to the next."""
    yield
    await optional_redis.close()
    if redis_connection.connected or not app_config.REDIS_URL:  # the app's cache, once opened
        await cache_service.clear()
    if redis_connection.connected:
        spent = [key async for key in redis_connection.client.scan_iter("ratelimit:*")]
        if spent:
            await redis_connection.client.delete(*spent)


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[AppSession]:
    """A session inside a transaction that is rolled back after the test.

    The application's own sessions join the same transaction, so what a request commits is
    visible to the test and gone afterwards. Commits inside become SAVEPOINT releases.
    """
    original = database.sessionmaker
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        database.sessionmaker = async_sessionmaker(
            bind=connection,
            class_=AppSession,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        # Totals cached by an earlier test describe rows its rollback removed.
        count_cache.generation = uuid.uuid4().hex
        try:
            async with database.session() as session:
                token = current_session.set(session)
                yield session
                current_session.reset(token)
        finally:
            database.sessionmaker = original
            await transaction.rollback()


@pytest.fixture
async def client(app: FastAPI, db: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class SentMail:
    """Mail the application sent: read from the SMTP server in real mode, else the outbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox
        transport = mail_service.transport
        self._outbox = transport if isinstance(transport, OutboxTransport) else None
        if self._outbox is not None:
            self._outbox.messages.clear()

    async def wait_for(self, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        await drain_queue()
        if self._outbox is None:
            return await self._mailbox.wait_for(count, timeout)
        deadline = time.monotonic() + timeout
        while len(self._outbox.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} mail(s), got {len(self._outbox.messages)}")
            await asyncio.sleep(0.02)
        return list(self._outbox.messages)


@pytest.fixture
def sent_mail(app: FastAPI, mailbox: Mailbox) -> SentMail:
    return SentMail(mailbox)


@pytest.fixture(params=APP_URL_LINK_BASES, ids=lambda pair: pair[0])
def link_base(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``APP_URL`` set to each of the ways it may end; how every mailed link must start."""
    app_url, base = request.param
    monkeypatch.setattr(app_config, "APP_URL", app_url)
    return str(base)
