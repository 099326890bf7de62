"""Response schemas shared by every module."""

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import pydantic

from app.core.db.params import PaginatedResult

ItemT = TypeVar("ItemT")


class PaginatedResponse(pydantic.BaseModel, Generic[ItemT]):
    """A page of items: ``{items, total, page, per_page, pages}``."""

    items: list[ItemT]
    total: int
    page: int
    per_page: int
    pages: int

    @classmethod
    def from_result(
        cls, result: PaginatedResult[Any], convert: Callable[[Any], ItemT]
    ) -> "PaginatedResponse[ItemT]":
        return cls(
            items=[convert(item) for item in result.items],
            total=result.total,
            page=result.page,
            per_page=result.per_page,
            pages=result.pages,
        )


class ErrorResponse(pydantic.BaseModel):
    """Every error answer: a ``detail`` string or list of validation errors."""

    detail: str | list[dict[str, Any]]


def error_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting error codes with the shared error body."""
    return {
        code: {"model": ErrorResponse, "description": text} for code, text in descriptions.items()
    }
