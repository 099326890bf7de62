"""The engine and session factory, opened by the lifespan and closed on shutdown."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Request
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


def create_engine(config: AppConfig, *, url: str | None = None, pooled: bool = True) -> AsyncEngine:
    """An async engine for ``url`` (default ``DATABASE_URL``) with settings fit for the backend.

    ``pooled=False`` opens a fresh connection each time (migrations, one-off scripts).
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
        connect_timeout = max(1, round(config.DATABASE_CONNECT_TIMEOUT))
        options["connect_args"] = {"connect_timeout": connect_timeout}
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

    def connect(self) -> None:
        if self._engine is None:
            self._engine = create_engine(self._config)
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
        return factory()

    async def ping(self) -> None:
        """Run ``SELECT 1``; raises when the database does not answer."""
        async with (self._read_engine or self.engine).connect() as connection:
            await connection.execute(text("SELECT 1"))


database = Database(app_config)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request, read-only for safe methods; whatever the service did not commit
    is rolled back.

    Closing runs after the response may have started: a connection lost by then (the database
    restarting) is logged, not raised, since no error can reach the client any more and the
    pool has already discarded the connection.
    """
    session = database.session(read_only=request.method in SAFE_METHODS)
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
