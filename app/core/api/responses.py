"""Response schemas shared by every module."""

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import pydantic
from fastapi import Depends, Response

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


async def no_store(response: Response) -> None:
    """Route dependency: the response holds credentials; no cache may keep it (RFC 6749 5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


NoStore = Depends(no_store)
