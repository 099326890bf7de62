"""Models that exist only in the test suite, to exercise the kernel's database layer."""

from enum import StrEnum
from typing import Literal

from pydantic import Field
from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import BaseModel, FilterParam, ListParams, SoftDeleteMixin, SortParam


class WidgetKind(StrEnum):
    GEAR = "gear"
    SPRING = "spring"
    BOLT = "bolt"


class Widget(BaseModel):
    __tablename__ = "test_widgets"

    name: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    kind: Mapped[WidgetKind] = mapped_column(
        Enum(
            WidgetKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        )
    )
    active: Mapped[bool] = mapped_column(default=True)


class SoftWidget(SoftDeleteMixin, BaseModel):
    __tablename__ = "test_soft_widgets"

    name: Mapped[str] = mapped_column(String(50))


class WidgetSortParam(SortParam):
    field: Literal["id", "name", "size", "created_at"]


class WidgetFilterParam(FilterParam):
    field: Literal["id", "name", "size", "kind", "active", "created_at"]


class WidgetListParams(ListParams):
    sort: list[WidgetSortParam] | None = Field(default=None)
    filters: list[WidgetFilterParam] | None = Field(default=None)
