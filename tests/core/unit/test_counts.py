"""List totals: counted once per change of the table, never stale for the session that wrote."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import update

from app.core.db import BaseRepository, FilterParam, database
from app.core.db.counts import AppSession, count_cache
from tests.core.models import Widget, WidgetKind
from tests.sql import sent_statements


class WidgetRepository(BaseRepository[Widget]):
    model = Widget


widgets = WidgetRepository()


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """The ``COUNT`` statements sent to the database while the block runs."""
    counts: list[str] = []
    with sent_statements() as statements:
        yield counts
    counts += [statement for statement in statements if "count(" in statement.lower()]


@pytest.fixture
async def other(db: AppSession) -> AsyncIterator[AppSession]:
    """A second session on the test's transaction, like the next request's."""
    async with database.session() as session:
        yield session


async def add_widgets(session: AppSession, count: int, kind: WidgetKind) -> None:
    for number in range(count):
        await widgets.create(session, {"name": f"w{number}", "size": number, "kind": kind})


async def test_a_total_is_counted_once_until_a_commit_writes_the_table(
    db: AppSession, other: AppSession
) -> None:
    await add_widgets(db, 3, WidgetKind.GEAR)
    await db.commit()

    with counted_queries() as counts:
        assert await widgets.count(other) == 3
        assert await widgets.count(other) == 3
    assert len(counts) == 1

    await add_widgets(db, 2, WidgetKind.BOLT)
    await db.commit()
    with counted_queries() as counts:
        assert await widgets.count(other) == 5
    assert len(counts) == 1


async def test_filters_have_totals_of_their_own(db: AppSession, other: AppSession) -> None:
    await add_widgets(db, 3, WidgetKind.GEAR)
    await add_widgets(db, 1, WidgetKind.BOLT)
    await db.commit()

    gears = [FilterParam(field="kind", value="gear")]
    assert await widgets.count(other, gears) == 3
    assert await widgets.count(other, [FilterParam(field="kind", value="bolt")]) == 1
    assert await widgets.count(other) == 4


async def test_a_bulk_update_statement_renews_the_total(db: AppSession, other: AppSession) -> None:
    await add_widgets(db, 3, WidgetKind.GEAR)
    await db.commit()
    gears = [FilterParam(field="kind", value="gear")]
    assert await widgets.count(other, gears) == 3

    await db.execute(update(Widget).where(Widget.size == 0).values(kind=WidgetKind.BOLT))
    await db.commit()

    assert await widgets.count(other, gears) == 2


async def test_a_session_counts_its_own_uncommitted_rows_without_caching_them(
    db: AppSession, other: AppSession
) -> None:
    await add_widgets(db, 2, WidgetKind.GEAR)
    await db.commit()
    assert await widgets.count(other) == 2

    await add_widgets(other, 1, WidgetKind.GEAR)  # flushed, not committed
    assert await widgets.count(other) == 3
    await other.rollback()

    assert await widgets.count(other) == 2


async def test_zero_seconds_counts_every_time(
    db: AppSession, other: AppSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(count_cache, "ttl_seconds", 0)
    await add_widgets(db, 1, WidgetKind.GEAR)
    await db.commit()

    with counted_queries() as counts:
        await widgets.count(other)
        await widgets.count(other)
    assert len(counts) == 2


async def test_random_filters_cannot_fill_the_cache(
    db: AppSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.core.db.counts.MAX_CACHED_TOTALS_PER_TABLE", 3)
    counted: list[str] = []

    def counter(filters: str) -> Any:
        async def count() -> int:
            counted.append(filters)
            return 0

        return count

    names = [f"name:filler-{number}" for number in range(5)]
    for filters in names:
        await count_cache.total(db, "widgets", filters, counter(filters))
    counted.clear()
    for filters in names:
        await count_cache.total(db, "widgets", filters, counter(filters))

    assert counted == names[3:]  # the first three were cached; the rest are counted each time
