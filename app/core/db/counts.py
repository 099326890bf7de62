"""Totals of list pages, counted once per change of their table instead of once per request.

A page's total costs a ``COUNT(*)`` over every matching row, which grows with the table. Each
total is cached per table and filters under the table's current *version*, and every commit that
wrote to a table gives it a new version, so the next page counts again. The version is read
before counting, so a total computed while a write commits is stored under the version that
write replaces and never served. Writes outside the application's sessions (raw SQL, other
programs) show once ``LIST_COUNT_CACHE_SECONDS`` pass.
"""

import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.core.configs import app_config
from app.core.services.cache import CacheServiceInterface, cache_service
from app.core.services.log import logger

_WRITTEN = "written_tables"
# Tables no list counts (the outbox): writing them costs no version bump in Redis.
UNCOUNTED_TABLES: set[str] = set()


class TrackingSession(Session):
    """A session that remembers which tables it wrote to since its last commit."""


@event.listens_for(TrackingSession, "after_flush")
def _note_flushed_tables(session: Session, _flush: UOWTransaction) -> None:
    written = session.info.setdefault(_WRITTEN, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        written.update(table.name for table in _tables_of(instance))


@event.listens_for(TrackingSession, "do_orm_execute")
def _note_statement_tables(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            state.session.info.setdefault(_WRITTEN, set()).add(table.name)


def _unpublished_writes(session: Session) -> set[str]:
    written = set(session.info.get(_WRITTEN, ()))
    for instance in (*session.new, *session.dirty, *session.deleted):
        written.update(table.name for table in _tables_of(instance))
    return written


def _tables_of(instance: object) -> Iterable[Any]:
    mapper = getattr(instance, "__mapper__", None)
    return mapper.tables if mapper is not None else ()


# Totals a table may have cached per TTL window: beyond, pages still count, uncached, so that
# random filters cannot fill the cache.
MAX_CACHED_TOTALS_PER_TABLE = 1000


class CountCache:
    """Cached totals per table and filters; ``bump`` after a commit that wrote to tables."""

    def __init__(self, cache: CacheServiceInterface, ttl_seconds: int) -> None:
        self._cache = cache
        self.ttl_seconds = ttl_seconds
        # Part of every key; tests start a new one so rolled-back data leaves no totals behind.
        self.generation = ""

    async def total(
        self,
        db: AsyncSession,
        table: str | Sequence[str],
        filters: str,
        count: Callable[[], Awaitable[int]],
    ) -> int:
        """``count()``'s result for ``filters`` over ``table`` (or several tables, when the
        condition reads others too), from the cache while none of them changed.

        A session that wrote to one of them and has not committed counts its own rows, uncached.
        """
        tables = [table] if isinstance(table, str) else sorted(set(table))
        if not self.ttl_seconds or _unpublished_writes(db.sync_session).intersection(tables):
            return await count()
        versions = [await self._cache.get(self._version_key(name), default="0") for name in tables]
        table = "+".join(tables)
        version = ".".join(str(item) for item in versions)
        key = f"count:{self.generation}:{table}:{version}:{filters}"
        cached = await self._cache.get(key)
        if isinstance(cached, int):
            return cached
        total = await count()
        if await self._take_slot(table, version):
            await self._cache.set(key, total, ttl=self.ttl_seconds)
        return total

    async def _take_slot(self, table: str, version: str) -> bool:
        """Whether one more total of ``table`` may be cached in this TTL window (approximate
        under concurrency, bounded all the same)."""
        window = int(time.time() // self.ttl_seconds)
        slots_key = f"count-slots:{self.generation}:{table}:{version}:{window}"
        used = await self._cache.get(slots_key, default=0)
        if not isinstance(used, int) or used >= MAX_CACHED_TOTALS_PER_TABLE:
            return False
        await self._cache.set(slots_key, used + 1, ttl=self.ttl_seconds * 2)
        return True

    async def bump(self, tables: Iterable[str]) -> None:
        if not self.ttl_seconds:
            return
        for table in tables:
            # No expiry: an expired version would bring back totals stored under an older one.
            # Kept and sent later while Redis fails, so no stale total survives the outage.
            await self._cache.replace(self._version_key(table), uuid.uuid4().hex)

    def _version_key(self, table: str) -> str:
        return f"count-version:{self.generation}:{table}"


count_cache = CountCache(cache_service, app_config.LIST_COUNT_CACHE_SECONDS)


class AppSession(AsyncSession):
    """The application's session: after a commit, totals of the tables it wrote are stale."""

    sync_session_class = TrackingSession

    # Run after each commit, in order (the outbox relays what the transaction queued).
    after_commit: ClassVar[list[Callable[["AppSession"], Awaitable[None]]]] = []

    async def commit(self) -> None:
        await super().commit()
        try:
            await self.publish_writes()
        except Exception:  # the commit stands: its caller must not see it as failed
            await logger.a_exception("could not mark the tables written as changed")
        for hook in self.after_commit:
            try:
                await hook(self)
            except Exception:
                await logger.a_exception("after-commit step failed", step=hook.__qualname__)
                with contextlib.suppress(Exception):
                    await self.rollback()  # leave the session usable

    async def publish_writes(self) -> None:
        """Mark the tables written so far as changed. ``commit`` does it; call it after a
        flush when other sessions see this one's uncommitted rows (tests sharing a connection)."""
        written = self.sync_session.info.pop(_WRITTEN, set()) - UNCOUNTED_TABLES
        if written:
            await count_cache.bump(written)
