"""``BaseRepository``: the CRUD and list queries every model gets for free.

Repositories flush; services commit. Every method takes the session explicitly so one service
can combine several repositories in one transaction.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

import pydantic
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    SmallInteger,
    bindparam,
    false,
    func,
    inspect,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, QueryableAttribute
from sqlalchemy.sql.util import find_tables

from app.core.db.counts import count_cache
from app.core.db.model import BaseModel, SoftDeleteMixin
from app.core.db.params import FilterParam, ListParams, PaginatedResult, SortParam
from app.core.db.types import utcnow
from app.core.exceptions import InvalidListParams

# A condition: an expression, or a boolean column on its own (``Post.is_public``).
Condition = ColumnElement[bool] | QueryableAttribute[bool]


def _expression(where: Condition | None) -> ColumnElement[bool] | None:
    return where.expression if isinstance(where, QueryableAttribute) else where


ModelT = TypeVar("ModelT", bound=BaseModel)

_BY_ID: dict[tuple[type, bool], Any] = {}
# Ids one get_many may ask for: a page's worth of references, not a table scan.
MAX_GET_MANY = 1000

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_BOUNDS = {
    SmallInteger: (-(2**15), 2**15 - 1),
    BigInteger: (INT64_MIN, INT64_MAX),
    Integer: (-(2**31), 2**31 - 1),
}


def fits_column(column: "ColumnElement[Any] | InstrumentedAttribute[Any]", value: Any) -> bool:
    """Whether a value can be stored in the column: an integer within its size, a date and
    time that exists in UTC (year 1 at +05:00 does not). The database refuses those that
    don't; as filters they match no row."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return True
        try:
            value.astimezone(UTC)
        except OverflowError:
            return False
        return True
    if not isinstance(value, int) or isinstance(value, bool):
        return True
    for column_type, (low, high) in _INTEGER_BOUNDS.items():
        if isinstance(column.type, column_type):
            return low <= value <= high
    return True


@lru_cache(maxsize=64)
def _adapter(python_type: type) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(python_type)


def coerce_value(python_type: type, value: Any) -> Any:
    """Convert a query-string value to ``python_type``; raise ``ValueError`` when it can't be."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        coerced = _adapter(python_type).validate_python(value)
    except pydantic.ValidationError as error:
        raise ValueError(error.errors()[0]["msg"]) from None
    if isinstance(coerced, int) and not INT64_MIN <= coerced <= INT64_MAX:
        raise ValueError("number is out of range")
    return coerced


class BaseRepository(Generic[ModelT]):
    """Generic data access for one model; subclasses set ``model`` and add their own queries."""

    model: type[ModelT]

    @property
    def soft_deletes(self) -> bool:
        return issubclass(self.model, SoftDeleteMixin)

    def select(self, *, with_deleted: bool = False) -> Select[ModelT]:
        """A ``SELECT`` of the model that hides soft-deleted rows unless asked."""
        stmt = select(self.model)
        if self.soft_deletes and not with_deleted:
            stmt = stmt.where(self._attribute("deleted_at").is_(None))
        return stmt

    async def get(
        self, db: AsyncSession, model_id: int, *, with_deleted: bool = False
    ) -> ModelT | None:
        if not fits_column(self._attribute("id"), model_id):
            return None
        stmt = self._by_id(with_deleted)
        return (await db.execute(stmt, {"model_id": model_id})).scalar_one_or_none()

    def _by_id(self, with_deleted: bool) -> Select[ModelT]:
        """``select`` by primary key, the id a bound parameter. Built once per repository class
        (building a statement costs more than running it) unless the class overrides ``select``,
        whose result may then depend on the instance."""
        key = (type(self), with_deleted)
        stmt: Select[ModelT] | None = _BY_ID.get(key)
        if stmt is None:
            stmt = self.select(with_deleted=with_deleted).where(
                self._attribute("id") == bindparam("model_id")
            )
            if type(self).select is BaseRepository.select:
                _BY_ID[key] = stmt
        return stmt

    async def get_many(
        self, db: AsyncSession, ids: Iterable[int], *, with_deleted: bool = False
    ) -> list[ModelT]:
        """The rows with these ids, in the order asked, in one query; missing ids are left out.
        At most ``MAX_GET_MANY`` ids."""
        wanted = list(dict.fromkeys(ids))
        if len(wanted) > MAX_GET_MANY:
            raise ValueError(f"get_many takes at most {MAX_GET_MANY} ids, got {len(wanted)}")
        id_column = self._attribute("id")
        wanted = [model_id for model_id in wanted if fits_column(id_column, model_id)]
        if not wanted:
            return []
        stmt = self.select(with_deleted=with_deleted).where(id_column.in_(wanted))
        found = {row.id: row for row in (await db.execute(stmt)).scalars()}
        return [found[model_id] for model_id in wanted if model_id in found]

    async def get_by(
        self, db: AsyncSession, *, with_deleted: bool = False, **criteria: Any
    ) -> ModelT | None:
        """The single row whose columns equal ``criteria``, or ``None``."""
        stmt = self.select(with_deleted=with_deleted).filter_by(**criteria)
        return (await db.execute(stmt.limit(2))).scalars().one_or_none()

    async def create(self, db: AsyncSession, data: Mapping[str, Any]) -> ModelT:
        instance = self.model(**data)
        db.add(instance)
        await db.flush()
        return instance

    async def update(self, db: AsyncSession, instance: ModelT, data: Mapping[str, Any]) -> ModelT:
        mapped = inspect(self.model).attrs
        for key, value in data.items():
            if key not in mapped:
                raise AttributeError(f"{self.model.__name__} has no mapped attribute {key!r}")
            setattr(instance, key, value)
        await db.flush()
        return instance

    async def delete(self, db: AsyncSession, instance: ModelT, *, hard: bool = False) -> None:
        """Soft delete when the model supports it, unless ``hard`` is asked for."""
        if self.soft_deletes and not hard:
            instance.deleted_at = utcnow()  # type: ignore[attr-defined]
        else:
            await db.delete(instance)
        await db.flush()

    async def count(
        self,
        db: AsyncSession,
        filters: Sequence[FilterParam] | None = None,
        *,
        where: Condition | None = None,
        with_deleted: bool = False,
    ) -> int:
        """Rows matching ``filters`` and ``where``; cached per distinct condition until the
        next commit that writes the table, or a table ``where`` reads."""
        stmt = select(func.count()).select_from(self.model)
        if self.soft_deletes and not with_deleted:
            stmt = stmt.where(self._attribute("deleted_at").is_(None))
        stmt = stmt.where(*self._conditions(filters or ()))
        tables = [self.model.__tablename__]
        condition_key = None
        condition = _expression(where)
        if condition is not None:
            stmt = stmt.where(condition)
            tables += [table.name for table in find_tables(condition, include_crud=True)]
            compiled = condition.compile()
            condition_key = (str(compiled), sorted(compiled.params.items(), key=repr))

        async def run() -> int:
            return (await db.execute(stmt)).scalar_one()

        criteria = [(item.field, item.value) for item in filters or ()]
        soft = self.soft_deletes and not with_deleted
        key = repr((sorted(criteria, key=repr), soft, condition_key))
        return await count_cache.total(db, tables, key, run)

    async def get_list(
        self,
        db: AsyncSession,
        params: ListParams,
        *,
        where: Condition | None = None,
        with_deleted: bool = False,
    ) -> PaginatedResult[ModelT]:
        """One page of rows, sorted and filtered as ``params`` says, with the total count.

        ``where`` narrows rows beyond the client's filters (rows a caller may see, e.g.
        ``or_(Project.owner_id == user.id, Project.is_public)``); it applies to the page and the
        total alike.
        """
        conditions = self._conditions(params.filters or ())
        condition = _expression(where)
        if condition is not None:
            conditions.append(condition)
        order_by = self._order_by(params.sort or ())
        total = await self.count(db, params.filters, where=where, with_deleted=with_deleted)
        items: list[ModelT] = []
        if total > params.offset:
            stmt = (
                self.select(with_deleted=with_deleted)
                .where(*conditions)
                .order_by(*order_by)
                .offset(params.offset)
                .limit(params.per_page)
            )
            items = list((await db.execute(stmt)).scalars())
        return PaginatedResult(items=items, total=total, page=params.page, per_page=params.per_page)

    async def commit(self, db: AsyncSession) -> None:
        await db.commit()

    def _attribute(self, name: str) -> InstrumentedAttribute[Any]:
        """A column the repository itself relies on (``id``, ``deleted_at``)."""
        attribute: InstrumentedAttribute[Any] = getattr(self.model, name)
        return attribute

    def _listed(self, name: str, param: str) -> InstrumentedAttribute[Any]:
        """The column a client names in list parameter ``param``; refused if there is none."""
        if name not in inspect(self.model).columns:
            raise InvalidListParams(param, f"unknown field {name!r}")
        return self._attribute(name)

    def _python_type(self, name: str) -> type:
        try:
            python_type: type = inspect(self.model).columns[name].type.python_type
        except NotImplementedError:
            return str
        return python_type

    def _conditions(self, filters: Sequence[FilterParam]) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        for item in filters:
            attribute = self._listed(item.field, "filters")
            python_type = self._python_type(item.field)
            try:
                values = [coerce_value(python_type, value) for value in self._values(item)]
                # A number the column cannot hold matches no row.
                fitting = [value for value in values if fits_column(attribute, value)]
                if item.is_membership:
                    conditions.append(attribute.in_(fitting))
                else:
                    conditions.append(attribute == fitting[0] if fitting else false())
            except ValueError as error:
                raise InvalidListParams(
                    "filters", f"invalid value for {item.field!r}: {error}"
                ) from None
        return conditions

    @staticmethod
    def _values(item: FilterParam) -> list[Any]:
        return list(item.value) if item.is_membership else [item.value]

    def _order_by(self, sort: Sequence[SortParam]) -> list[ColumnElement[Any]]:
        order_by: list[ColumnElement[Any]] = []
        for item in sort:
            attribute = self._listed(item.field, "sort")
            order_by.append(attribute.desc() if item.order == "desc" else attribute.asc())
        if not any(item.field == "id" for item in sort):
            # A unique tie-breaker keeps pages stable when sort values repeat.
            order_by.append(self._attribute("id").asc())
        return order_by
