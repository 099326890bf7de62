"""Response schemas shared by every module."""

from collections.abc import Callable, Mapping
from typing import Any, Generic, Self, TypeVar

import pydantic
from fastapi import Depends, FastAPI, Response

from app.core.db.params import PaginatedResult

ItemT = TypeVar("ItemT")


class PaginatedResponse(pydantic.BaseModel, Generic[ItemT]):
    """A page of items: ``{items, total, page, per_page, pages}``. Subclass it per item type
    (``class UserPage(PaginatedResponse[UserOut])``) to give the page a name in OpenAPI."""

    items: list[ItemT]
    total: int
    page: int
    per_page: int
    pages: int

    @classmethod
    def from_result(cls, result: PaginatedResult[Any], convert: Callable[[Any], ItemT]) -> Self:
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


SIGNED_OUT = "Not signed in, or the token is invalid or expired"


def document_sign_in(app: FastAPI) -> None:
    """Every operation that takes a bearer token documents the 401 it may answer, in the shared
    error shape; routers need not declare it, so a public route added to them inherits none."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        error = {"$ref": "#/components/schemas/ErrorResponse"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if operation.get("security"):
                    operation.setdefault("responses", {}).setdefault(
                        "401",
                        {
                            "description": SIGNED_OUT,
                            "content": {"application/json": {"schema": error}},
                        },
                    )
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ErrorResponse", ErrorResponse.model_json_schema()
        )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
