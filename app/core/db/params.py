"""List parameters shared by repositories and the API: sorting, filtering, pagination."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

import pydantic

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
# Keeps OFFSET inside a 64-bit integer whatever per_page is.
MAX_PAGE = 10_000_000

T = TypeVar("T")
U = TypeVar("U")


class SortParam(pydantic.BaseModel):
    """One ``field:order`` item of ``sort``; subclasses narrow ``field`` with a ``Literal``."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    field: str
    order: Literal["asc", "desc"] = "asc"


class FilterParam(pydantic.BaseModel):
    """One ``field:value`` or ``field:[a,b]`` item of ``filters``.

    Values stay as given here; the repository coerces them to the column's type. Subclasses may
    describe the text each field accepts in ``value_patterns`` (regular expressions), which the
    API documents and enforces.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")
    value_patterns: ClassVar[dict[str, str]] = {}

    field: str
    value: Any

    @property
    def is_membership(self) -> bool:
        return isinstance(self.value, list | tuple)


class ListParams(pydantic.BaseModel):
    """What a list query asks for. Subclasses narrow ``sort`` and ``filters``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    page: int = pydantic.Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = pydantic.Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)
    sort: Sequence[SortParam] | None = None
    filters: Sequence[FilterParam] | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class PaginatedResult(Generic[T]):
    """One page of rows and the numbers needed to find the others."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0

    def map(self, convert: Callable[[T], U]) -> "PaginatedResult[U]":
        """The same page with every item converted (ORM rows into DTOs, for example)."""
        return PaginatedResult(
            items=[convert(item) for item in self.items],
            total=self.total,
            page=self.page,
            per_page=self.per_page,
        )
