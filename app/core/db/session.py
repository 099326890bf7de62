"""The engine and session factory, opened by the lifespan and closed on shutdown."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from fastapi import Request
from psycopg import waiting
from psycopg.errors import _WaitTimeout
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from app.core.configs import AppConfig, app_config
from app.core.db.counts import AppSession
from app.core.services.log import logger
from app.core.services.metrics import watch_pool
from app.core.services.tracing import instrument_engine

# Execution option of engines whose transactions only read (see ``Database.session``).
READ_ONLY = "app_read_only"
# How long a SQLite writer waits for the one before it to commit.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite behave: foreign keys, WAL, writers that wait their turn, working SAVEPOINTs.

    A transaction that may write starts with ``BEGIN IMMEDIATE``: it takes the write lock at
    once, waiting up to the busy timeout for the writer before it. A deferred ``BEGIN`` that
    read first cannot upgrade to a write once another writer committed ("database is locked",
    without waiting). Read-only sessions keep a deferred ``BEGIN`` and never wait for writers
    (WAL). pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy's documented recipe
    hands transaction control back to SQLAlchemy.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class DatabaseRole(StrEnum):
    """Who uses an engine: each has its own server-side limits."""

    API = "api"
    WORKER = "worker"
    MIGRATION = "migration"


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds: PostgreSQL's ``statement_timeout`` and ``idle_in_transaction_session_timeout``,
    and how long the client waits for any answer before it closes the connection."""

    statement: float
    idle_in_transaction: float
    answer: float

    @classmethod
    def for_role(cls, config: AppConfig, role: DatabaseRole) -> "DatabaseTimeouts":
        if role is DatabaseRole.WORKER:
            statement = config.DATABASE_WORKER_STATEMENT_TIMEOUT
            idle = config.DATABASE_WORKER_IDLE_IN_TRANSACTION_TIMEOUT
        elif role is DatabaseRole.MIGRATION:
            statement = idle = config.DATABASE_MIGRATION_STATEMENT_TIMEOUT
        else:
            statement = config.DATABASE_STATEMENT_TIMEOUT
            idle = config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT
        return cls(statement, idle, statement + config.DATABASE_ANSWER_MARGIN)

    def server_options(self) -> str:
        """libpq ``options`` that set the server-side limits when the connection opens."""
        return (
            f"-c statement_timeout={round(self.statement * 1000)} "
            f"-c idle_in_transaction_session_timeout={round(self.idle_in_transaction * 1000)}"
        )


class DatabaseSilent(psycopg.OperationalError):
    """The server did not answer in time; the connection was closed."""


class DeadlineConnection(psycopg.AsyncConnection[Any]):
    """A psycopg connection that stops waiting for a server that stopped answering.

    Every exchange with the server (statement, fetch, commit, rollback) waits at most
    ``answer_timeout`` seconds; past it, or when the waiting task is cancelled, the connection is
    closed at once rather than cancelled politely (which needs the silent server's cooperation).
    The pool then discards it: the slot is free and the caller gets an ``OperationalError``.
    """

    answer_timeout: float | None = None

    async def wait(
        self,
        gen: Any,
        interval: float = 0.1,
        timeout: float | None = None,  # noqa: ASYNC109 - psycopg's own signature
    ) -> Any:
        limit = timeout if timeout is not None else self.answer_timeout
        try:
            return await waiting.wait_async(
                gen, self.pgconn.socket, interval=interval, timeout=limit
            )
        except _WaitTimeout:
            self.pgconn.finish()
            raise DatabaseSilent(
                f"the database did not answer within {limit:g} s; connection closed"
            ) from None
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            self.pgconn.finish()
            raise


def _postgres_connect_args(
    config: AppConfig, url: Any, timeouts: DatabaseTimeouts
) -> dict[str, Any]:
    """Bounded connects, server-side limits, TCP keepalives and the client-side deadline."""
    options = timeouts.server_options()
    if url.query.get("options"):  # the URL's own options come last and win
        options = f"{options} {url.query['options']}"
    tcp = config.DATABASE_TCP_TIMEOUT
    answer = timeouts.answer
    prepare_threshold = config.DATABASE_PREPARE_THRESHOLD or None

    async def connect(*args: Any, **kwargs: Any) -> DeadlineConnection:
        connection = await DeadlineConnection.connect(*args, **kwargs)
        connection.answer_timeout = answer
        connection.prepare_threshold = prepare_threshold
        return connection

    return {
        "connect_timeout": max(1, round(config.DATABASE_CONNECT_TIMEOUT)),
        "options": options,
        "keepalives": 1,
        "keepalives_idle": max(1, round(tcp / 3)),
        "keepalives_interval": max(1, round(tcp / 6)),
        "keepalives_count": 2,
        "tcp_user_timeout": round(tcp * 1000),
        "async_creator_fn": connect,
    }


def create_engine(
    config: AppConfig,
    *,
    url: str | None = None,
    pooled: bool = True,
    role: DatabaseRole = DatabaseRole.API,
) -> AsyncEngine:
    """An async engine for ``url`` (default ``DATABASE_URL``) with settings fit for the backend.

    ``pooled=False`` opens a fresh connection each time (migrations, one-off scripts). On
    PostgreSQL, ``role`` picks the statement and idle-in-transaction limits.
    """
    db_url = make_url(url or config.DATABASE_URL)
    # Statement parameters (password hashes, tokens, emails) stay out of error messages and
    # logs, unless SQL echo was asked for.
    options: dict[str, Any] = {
        "echo": config.DATABASE_ECHO,
        "hide_parameters": not config.DATABASE_ECHO,
    }
    if db_url.get_backend_name() == "sqlite":
        if db_url.database and db_url.database != ":memory:":
            Path(db_url.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        timeouts = DatabaseTimeouts.for_role(config, role)
        options["connect_args"] = _postgres_connect_args(config, db_url, timeouts)
        if pooled:
            options |= {
                "pool_size": config.DATABASE_POOL_SIZE,
                "max_overflow": config.DATABASE_MAX_OVERFLOW,
                "pool_pre_ping": config.DATABASE_POOL_PRE_PING,
                "pool_timeout": config.DATABASE_POOL_TIMEOUT,
            }
    if not pooled:
        options["poolclass"] = NullPool
    engine = create_async_engine(db_url, **options)
    if db_url.get_backend_name() == "sqlite":
        _prepare_sqlite(engine)
    return engine


class Database:
    """Owns the engine; ``connect`` at startup, ``disconnect`` at shutdown."""

    def __init__(self, config: AppConfig) -> None:
        self._config = config
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AppSession] | None = None
        self._read_engine: AsyncEngine | None = None
        self._read_sessionmaker: async_sessionmaker[AppSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("The database is not connected; is the lifespan running?")
        return self._engine

    def connect(self, role: DatabaseRole = DatabaseRole.API) -> None:
        if self._engine is None:
            self._engine = create_engine(self._config, role=role)
            watch_pool(self._engine)
            instrument_engine(self._engine)
            self._sessionmaker = async_sessionmaker(
                self._engine, class_=AppSession, expire_on_commit=False
            )
            self._read_engine = self._engine.execution_options(**{READ_ONLY: True})
            self._read_sessionmaker = async_sessionmaker(
                self._read_engine,
                class_=AppSession,
                expire_on_commit=False,
            )

    async def disconnect(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessionmaker = None
        self._read_engine = None
        self._read_sessionmaker = None

    @property
    def sessionmaker(self) -> async_sessionmaker[AppSession]:
        if self._sessionmaker is None:
            raise RuntimeError("The database is not connected; is the lifespan running?")
        return self._sessionmaker

    @sessionmaker.setter
    def sessionmaker(self, factory: async_sessionmaker[AppSession]) -> None:
        """Hand out sessions from ``factory`` (tests bind one to a rolled-back transaction)."""
        self._sessionmaker = self._read_sessionmaker = factory

    def session(self, *, read_only: bool = False) -> AppSession:
        """A new session. On SQLite, one that may write takes the write lock when its
        transaction begins (writers queue instead of failing); a ``read_only`` one never
        waits for writers. On PostgreSQL both are the same."""
        factory = self._read_sessionmaker if read_only else self._sessionmaker
        if factory is None:
            raise RuntimeError("The database is not connected; is the lifespan running?")
        session = factory()
        session.info[READ_ONLY_SESSION] = read_only
        return session

    async def ping(self) -> None:
        """Run ``SELECT 1``; raises when the database does not answer."""
        async with (self._read_engine or self.engine).connect() as connection:
            await connection.execute(text("SELECT 1"))


database = Database(app_config)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Marks, in a session's ``info``, one that never commits (its transaction only reads).
READ_ONLY_SESSION = "read_only"


def in_writable_transaction(db: AsyncSession) -> bool:
    """Whether ``db`` has a transaction open that may commit (not a read-only session's):
    where events and queued tasks can wait for the commit."""
    return db.in_transaction() and not db.info.get(READ_ONLY_SESSION, False)


def request_session(request: Request) -> AsyncSession | None:
    """The session ``get_db_session`` opened for this request, if it did."""
    session: AsyncSession | None = getattr(request.state, "db_session", None)
    return session


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request, read-only for safe methods; whatever the service did not commit
    is rolled back.

    Closing runs after the response may have started: a connection lost by then (the database
    restarting) is logged, not raised, since no error can reach the client any more and the
    pool has already discarded the connection.
    """
    session = database.session(read_only=request.method in SAFE_METHODS)
    request.state.db_session = session
    try:
        yield session
    finally:
        try:
            await session.close()
        except DBAPIError as error:
            await logger.a_warning(
                "database connection lost while closing a session",
                error=type(error.orig or error).__name__,
            )
