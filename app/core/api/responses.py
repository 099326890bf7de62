"""Response schemas shared by every module."""

import json
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


class FieldError(pydantic.BaseModel):
    """One validation error: where (``loc``), what is wrong (``msg``) and its kind (``type``)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(pydantic.BaseModel):
    """Every error answer: a ``detail`` string or list of validation errors."""

    detail: str | list[FieldError]


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
ERROR_REF = "#/components/schemas/ErrorResponse"


# Answers any operation may give that its route does not declare, all in the shared error shape.
INVALID = "Invalid input: `detail` lists each problem (location, message, type)"
TOO_LARGE = "Request body larger than the route accepts"
MALFORMED = "Malformed request body: not the JSON or form data the route reads"
DATABASE_DOWN = "Database temporarily unavailable (with `Retry-After`)"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def document_responses(app: FastAPI) -> None:
    """Every operation documents, in the shared error shape, the errors the kit's own layers
    may answer: 401 where it takes a bearer token, 422 (the kit's body, not FastAPI's), 400 and
    413 where it takes a body, 503 under ``/api`` (the database). Routers need not declare
    them, so a public route added to them inherits no 401."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    responses.setdefault("401", _error(SIGNED_OUT))
                if "422" in responses:
                    responses["422"] = _error(INVALID)
                if "requestBody" in operation:
                    responses.setdefault("400", _error(MALFORMED))
                    responses.setdefault("413", _error(TOO_LARGE))
                if path.startswith("/api/"):
                    responses.setdefault("503", _error(DATABASE_DOWN))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
        for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, if unused
            if f'"#/components/schemas/{name}"' not in json.dumps(schema):
                components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
