from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import BigInteger, Column, Integer, Select, SmallInteger, String, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import BaseRepository, FilterParam, ListParams, SortParam
from app.core.db.counts import AppSession
from app.core.db.repository import _adapter, coerce_value, fits_column
from app.core.exceptions import InvalidListParams
from tests.core.models import SoftWidget, Widget, WidgetKind
from tests.sql import sent_statements


class WidgetRepository(BaseRepository[Widget]):
    model = Widget


class SoftWidgetRepository(BaseRepository[SoftWidget]):
    model = SoftWidget


widgets = WidgetRepository()
soft_widgets = SoftWidgetRepository()


async def make_widgets(db: AsyncSession) -> list[Widget]:
    rows = [
        ("alpha", 3, WidgetKind.GEAR),
        ("bravo", 1, WidgetKind.SPRING),
        ("charlie", 3, WidgetKind.BOLT),
        ("delta", 2, WidgetKind.GEAR),
        ("echo", 5, WidgetKind.SPRING),
    ]
    return [
        await widgets.create(db, {"name": name, "size": size, "kind": kind})
        for name, size, kind in rows
    ]


async def test_create_and_get_round_trip(db: AsyncSession) -> None:
    created = await widgets.create(db, {"name": "gizmo", "size": 7, "kind": WidgetKind.BOLT})
    db.expunge_all()

    fetched = await widgets.get(db, created.id)

    assert fetched is not None
    assert fetched.to_dict() == {
        "id": created.id,
        "name": "gizmo",
        "size": 7,
        "kind": WidgetKind.BOLT,
        "active": True,
        "created_at": fetched.created_at,
        "updated_at": fetched.updated_at,
    }


async def test_timestamps_come_back_aware_utc(db: AsyncSession) -> None:
    created = await widgets.create(db, {"name": "clock", "size": 1, "kind": WidgetKind.GEAR})
    db.expunge_all()

    fetched = await widgets.get(db, created.id)

    assert fetched is not None
    assert fetched.created_at.tzinfo is not None
    assert fetched.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - fetched.created_at) < timedelta(minutes=1)


async def test_get_unknown_or_out_of_range_id_is_none(db: AsyncSession) -> None:
    assert await widgets.get(db, 987654) is None
    assert await widgets.get(db, 2**70) is None
    assert await widgets.get(db, 2**40) is None  # beyond a 32-bit INTEGER column


async def test_update_changes_fields_and_updated_at(db: AsyncSession) -> None:
    widget = await widgets.create(db, {"name": "old", "size": 1, "kind": WidgetKind.GEAR})
    before = widget.updated_at

    await widgets.update(db, widget, {"name": "new"})
    db.expunge_all()
    fetched = await widgets.get(db, widget.id)

    assert fetched is not None
    assert fetched.name == "new"
    assert fetched.updated_at >= before


async def test_update_refuses_unknown_attribute(db: AsyncSession) -> None:
    widget = await widgets.create(db, {"name": "x", "size": 1, "kind": WidgetKind.GEAR})

    with pytest.raises(AttributeError, match=r"^Widget has no mapped attribute 'nope'$"):
        await widgets.update(db, widget, {"nope": 1})


async def test_hard_delete_removes_row(db: AsyncSession) -> None:
    widget = await widgets.create(db, {"name": "gone", "size": 1, "kind": WidgetKind.GEAR})

    await widgets.delete(db, widget)

    assert await widgets.get(db, widget.id) is None
    assert await widgets.count(db) == 0


async def test_soft_delete_hides_row_from_reads_unless_asked(db: AsyncSession) -> None:
    kept = await soft_widgets.create(db, {"name": "kept"})
    deleted = await soft_widgets.create(db, {"name": "deleted"})

    await soft_widgets.delete(db, deleted)

    assert deleted.is_deleted
    assert await soft_widgets.get(db, deleted.id) is None
    assert await soft_widgets.get(db, deleted.id, with_deleted=True) is deleted
    assert await soft_widgets.get_by(db, name="deleted") is None
    assert await soft_widgets.count(db) == 1
    assert await soft_widgets.count(db, with_deleted=True) == 2
    page = await soft_widgets.get_list(db, ListParams())
    assert [item.id for item in page.items] == [kept.id]
    assert page.total == 1


async def test_hard_delete_of_soft_deletable_model_when_asked(db: AsyncSession) -> None:
    widget = await soft_widgets.create(db, {"name": "purged"})

    await soft_widgets.delete(db, widget, hard=True)

    assert await soft_widgets.get(db, widget.id, with_deleted=True) is None


async def test_commit_persists_within_the_test_transaction(db: AsyncSession) -> None:
    widget = await widgets.create(db, {"name": "saved", "size": 1, "kind": WidgetKind.GEAR})

    await widgets.commit(db)

    assert await widgets.get(db, widget.id) is widget


async def test_list_sorts_on_several_fields(db: AsyncSession) -> None:
    await make_widgets(db)
    params = ListParams(
        sort=[SortParam(field="size", order="desc"), SortParam(field="name", order="asc")]
    )

    page = await widgets.get_list(db, params)

    assert [w.name for w in page.items] == ["echo", "alpha", "charlie", "delta", "bravo"]


async def test_list_equality_and_membership_filters_coerce_strings(db: AsyncSession) -> None:
    created = await make_widgets(db)
    ids = [str(created[0].id), str(created[2].id), str(created[3].id)]
    params = ListParams(
        filters=[FilterParam(field="id", value=ids), FilterParam(field="size", value="3")],
        sort=[SortParam(field="id")],
    )

    page = await widgets.get_list(db, params)

    assert [w.name for w in page.items] == ["alpha", "charlie"]
    assert page.total == 2


async def test_list_filters_on_enum_bool_and_datetime(db: AsyncSession) -> None:
    created = await make_widgets(db)
    await widgets.update(db, created[0], {"active": False})
    stamp = created[1].created_at.isoformat()

    by_kind = await widgets.get_list(
        db, ListParams(filters=[FilterParam(field="kind", value="gear")])
    )
    by_flag = await widgets.get_list(
        db, ListParams(filters=[FilterParam(field="active", value="false")])
    )
    by_time = await widgets.get_list(
        db, ListParams(filters=[FilterParam(field="created_at", value=stamp)])
    )

    assert [w.name for w in by_kind.items] == ["alpha", "delta"]
    assert [w.name for w in by_flag.items] == ["alpha"]
    assert [w.name for w in by_time.items] == ["bravo"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size", "abc"),
        ("size", str(2**80)),
        ("kind", "sprocket"),
        ("active", "perhaps"),
        ("created_at", "yesterday"),
        ("name", "nul\x00byte"),
        ("size", ["1", "x"]),
    ],
)
async def test_list_rejects_values_that_do_not_fit_the_column(
    db: AsyncSession, field: str, value: str | list[str]
) -> None:
    params = ListParams(filters=[FilterParam(field=field, value=value)])

    with pytest.raises(InvalidListParams) as error:
        await widgets.get_list(db, params)

    assert error.value.param == "filters"
    assert field in error.value.detail


async def test_numbers_the_column_cannot_hold_match_nothing(db: AsyncSession) -> None:
    created = await make_widgets(db)
    huge = str(2**40)

    membership = ListParams(filters=[FilterParam(field="id", value=[str(created[0].id), huge])])
    equality = ListParams(filters=[FilterParam(field="size", value=huge)])

    assert [w.id for w in (await widgets.get_list(db, membership)).items] == [created[0].id]
    assert (await widgets.get_list(db, equality)).total == 0


async def test_list_rejects_unknown_columns(db: AsyncSession) -> None:
    with pytest.raises(InvalidListParams) as sort_error:
        await widgets.get_list(db, ListParams(sort=[SortParam(field="secret")]))
    with pytest.raises(InvalidListParams) as filter_error:
        await widgets.get_list(db, ListParams(filters=[FilterParam(field="secret", value="1")]))

    assert sort_error.value.param == "sort"
    assert filter_error.value.param == "filters"
    assert sort_error.value.detail == filter_error.value.detail == "unknown field 'secret'"


async def test_a_value_that_does_not_fit_names_its_field_and_the_reason(db: AsyncSession) -> None:
    with pytest.raises(ValueError, match="valid integer") as reason:
        coerce_value(int, "x")

    with pytest.raises(InvalidListParams) as error:
        await widgets.get_list(db, ListParams(filters=[FilterParam(field="size", value="x")]))

    assert error.value.detail == f"invalid value for 'size': {reason.value}"


async def test_rows_tied_on_the_sort_come_in_id_order(db: AsyncSession) -> None:
    await make_widgets(db)
    by_size = ListParams(sort=[SortParam(field="size", order="desc")])
    by_id = ListParams(sort=[SortParam(field="id", order="desc")])

    with sent_statements(db.get_bind()) as statements:
        sized = await widgets.get_list(db, by_size)
        newest = await widgets.get_list(db, by_id)

    assert [w.name for w in sized.items] == ["echo", "alpha", "charlie", "delta", "bravo"]
    assert [w.name for w in newest.items] == ["echo", "delta", "charlie", "bravo", "alpha"]
    pages = [" ".join(statement.split()) for statement in statements if "ORDER BY" in statement]
    assert "ORDER BY test_widgets.size DESC, test_widgets.id ASC LIMIT" in pages[0]
    assert "ORDER BY test_widgets.id DESC LIMIT" in pages[1]  # no second id term


async def test_a_page_past_the_last_row_reads_only_the_total(db: AsyncSession) -> None:
    await make_widgets(db)

    with sent_statements(db.get_bind()) as statements:
        page = await widgets.get_list(db, ListParams(page=6, per_page=1))

    assert (page.items, page.total) == ([], 5)
    assert len(statements) == 1
    assert "count(" in statements[0].lower()


async def test_pagination_edges(db: AsyncSession) -> None:
    await make_widgets(db)
    sort = [SortParam(field="name")]

    first = await widgets.get_list(db, ListParams(page=1, per_page=2, sort=sort))
    last = await widgets.get_list(db, ListParams(page=3, per_page=2, sort=sort))
    beyond = await widgets.get_list(db, ListParams(page=4, per_page=2, sort=sort))
    everything = await widgets.get_list(db, ListParams(page=1, per_page=100, sort=sort))

    assert [w.name for w in first.items] == ["alpha", "bravo"]
    assert (first.total, first.pages) == (5, 3)
    assert [w.name for w in last.items] == ["echo"]
    assert beyond.items == []
    assert (beyond.total, beyond.pages, beyond.page) == (5, 3, 4)
    assert len(everything.items) == 5


async def test_empty_table_has_zero_pages(db: AsyncSession) -> None:
    page = await widgets.get_list(db, ListParams())

    assert (page.items, page.total, page.pages) == ([], 0, 0)


async def test_per_page_cap_is_enforced_by_list_params() -> None:
    with pytest.raises(ValueError, match="per_page"):
        ListParams(per_page=101)


async def test_count_with_filters(db: AsyncSession) -> None:
    await make_widgets(db)

    assert await widgets.count(db) == 5
    assert await widgets.count(db, [FilterParam(field="kind", value=["gear", "bolt"])]) == 3


async def test_paginated_result_map_converts_items(db: AsyncSession) -> None:
    await make_widgets(db)
    page = await widgets.get_list(db, ListParams(per_page=2, sort=[SortParam(field="name")]))

    names = page.map(lambda widget: widget.name)

    assert names.items == ["alpha", "bravo"]
    assert (names.total, names.pages) == (page.total, page.pages)


class LargeWidgetRepository(BaseRepository[Widget]):
    """A repository whose ``select`` depends on the instance."""

    model = Widget

    def __init__(self, min_size: int) -> None:
        self.min_size = min_size

    def select(self, *, with_deleted: bool = False) -> Select[Widget]:
        return super().select(with_deleted=with_deleted).where(Widget.size >= self.min_size)


async def test_get_honours_an_overridden_select(db: AsyncSession) -> None:
    created = await widgets.create(db, {"name": "mid", "size": 5, "kind": WidgetKind.GEAR})

    assert await LargeWidgetRepository(min_size=3).get(db, created.id) is created
    assert await LargeWidgetRepository(min_size=9).get(db, created.id) is None
    assert await widgets.get(db, created.id) is created


async def test_where_narrows_the_page_and_the_total_alike_each_cached_on_its_own(
    db: AppSession,
) -> None:
    await make_widgets(db)
    await db.commit()
    params = ListParams(page=1, per_page=2, sort=[SortParam(field="name")])

    big = await widgets.get_list(db, params, where=Widget.size >= 3)
    small = await widgets.get_list(db, params, where=Widget.size < 3)
    big_again = await widgets.get_list(db, params, where=Widget.size >= 3)

    assert ([w.name for w in big.items], big.total) == (["alpha", "charlie"], 3)
    assert ([w.name for w in small.items], small.total) == (["bravo", "delta"], 2)
    assert big_again.total == 3
    assert (await widgets.get_list(db, params)).total == 5


async def test_a_total_with_a_condition_renews_when_its_own_table_changes(
    db: AppSession,
) -> None:
    await make_widgets(db)
    await db.commit()
    assert await widgets.count(db, where=Widget.size >= 3) == 3

    await widgets.create(db, {"name": "foxtrot", "size": 9, "kind": WidgetKind.GEAR})
    await db.commit()

    assert await widgets.count(db, where=Widget.size >= 3) == 4


async def test_totals_with_and_without_deleted_rows_are_cached_apart(db: AppSession) -> None:
    await soft_widgets.create(db, {"name": "kept"})
    await soft_widgets.delete(db, await soft_widgets.create(db, {"name": "gone"}))
    await db.commit()

    assert await soft_widgets.count(db) == 1
    assert await soft_widgets.count(db, with_deleted=True) == 2
    assert await soft_widgets.count(db) == 1


async def test_a_boolean_column_alone_is_a_condition(db: AppSession) -> None:
    rows = await make_widgets(db)
    await widgets.update(db, rows[1], {"active": False})
    await db.commit()
    params = ListParams(page=1, per_page=10, sort=[SortParam(field="name")])

    active = await widgets.get_list(db, params, where=Widget.active)
    inactive = await widgets.get_list(db, params, where=~Widget.active)

    assert (len(active.items), active.total) == (4, 4)
    assert "bravo" not in [w.name for w in active.items]
    assert ([w.name for w in inactive.items], inactive.total) == (["bravo"], 1)
    assert await widgets.count(db, where=Widget.active) == 4


async def test_a_total_whose_condition_reads_another_table_renews_when_that_table_changes(
    db: AppSession,
) -> None:
    await make_widgets(db)
    await soft_widgets.create(db, {"name": "alpha"})
    await db.commit()
    named_like_a_soft_widget = Widget.name.in_(select(SoftWidget.name).scalar_subquery())
    params = ListParams(page=1, per_page=10)

    assert (await widgets.count(db, where=named_like_a_soft_widget)) == 1
    await soft_widgets.create(db, {"name": "bravo"})
    await db.commit()

    assert (await widgets.count(db, where=named_like_a_soft_widget)) == 2
    assert (await widgets.get_list(db, params, where=named_like_a_soft_widget)).total == 2


async def test_get_many_takes_up_to_1000_ids(db: AsyncSession) -> None:
    created = await make_widgets(db)
    ids = [created[0].id, *range(10**6, 10**6 + 999)]

    found = await widgets.get_many(db, ids)

    assert [w.id for w in found] == [created[0].id]
    with pytest.raises(ValueError, match=r"^get_many takes at most 1000 ids, got 1001$"):
        await widgets.get_many(db, [*ids, 2 * 10**6])


@pytest.mark.parametrize("number", [-(2**63), 2**63 - 1])
def test_the_widest_64_bit_numbers_are_values(number: int) -> None:
    assert coerce_value(int, str(number)) == number


@pytest.mark.parametrize("number", [-(2**63) - 1, 2**63])
def test_numbers_beyond_64_bits_are_refused(number: int) -> None:
    with pytest.raises(ValueError, match=r"^number is out of range$"):
        coerce_value(int, str(number))


@pytest.mark.parametrize(
    ("column_type", "low", "high"),
    [
        (SmallInteger, -(2**15), 2**15 - 1),
        (Integer, -(2**31), 2**31 - 1),
        (BigInteger, -(2**63), 2**63 - 1),
    ],
)
def test_an_integer_column_holds_its_whole_range_and_nothing_beyond(
    column_type: type[Integer], low: int, high: int
) -> None:
    column = Column("n", column_type())

    assert [fits_column(column, n) for n in (low, high, 0)] == [True, True, True]
    assert [fits_column(column, n) for n in (low - 1, high + 1)] == [False, False]


def test_values_other_than_numbers_and_datetimes_are_left_to_the_database() -> None:
    assert fits_column(Column("n", Integer()), "text")
    assert fits_column(Column("n", Integer()), True)
    assert fits_column(Column("s", String()), 2**70)


def test_a_datetime_fits_unless_it_has_no_utc_equivalent() -> None:
    column = Column("at", Integer())
    five_hours_ahead = timezone(timedelta(hours=5))

    assert fits_column(column, datetime(2026, 1, 1))
    assert fits_column(column, datetime(2026, 1, 1, tzinfo=five_hours_ahead))
    assert fits_column(column, datetime.min)
    assert not fits_column(column, datetime.min.replace(tzinfo=five_hours_ahead))


def test_a_type_is_prepared_for_coercion_once() -> None:
    assert _adapter(int) is _adapter(int)


def test_coercion_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^text must not contain NUL characters$"):
        coerce_value(str, "a\x00b")
    with pytest.raises(ValueError, match=r"^Input should be a valid integer"):
        coerce_value(int, "x")


async def test_get_many_keeps_the_order_asked_once_per_id_and_hides_soft_deleted_rows(
    db: AsyncSession,
) -> None:
    kept, gone = [await soft_widgets.create(db, {"name": n}) for n in ("kept", "gone")]
    await soft_widgets.delete(db, gone)
    ids = [gone.id, kept.id, kept.id, 2**31, -(2**31) - 1]

    assert await soft_widgets.get_many(db, ids) == [kept]
    assert await soft_widgets.get_many(db, ids, with_deleted=True) == [gone, kept]
    assert await soft_widgets.get_many(db, [2**31]) == []


def test_the_statement_by_id_is_built_once_per_repository_class() -> None:
    assert widgets._by_id(False) is WidgetRepository()._by_id(False)
    assert widgets._by_id(True) is not widgets._by_id(False)
