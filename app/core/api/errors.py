"""One error format for every failure: ``{"detail": ...}``, never a stack trace."""

from typing import Any

import structlog
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.api.routing import route_template
from app.core.exceptions import (
    ActionNotAllowed,
    AlreadyExistsError,
    AuthenticationError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailable,
    TooManyAttempts,
    error_item,
)
from app.core.services.error_reporting import report_error

log = structlog.get_logger(logger_name="app.errors")

DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    AlreadyExistsError: status.HTTP_409_CONFLICT,
    ActionNotAllowed: status.HTTP_403_FORBIDDEN,
    AuthenticationError: status.HTTP_401_UNAUTHORIZED,
    InvalidInputError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    ServiceUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
}


def _status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return status.HTTP_400_BAD_REQUEST


def sanitize_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Keep where and what; drop the rejected input, which may be a password or a token."""
    return [
        error_item(tuple(err.get("loc", ())), str(err.get("msg", "")), str(err.get("type", "")))
        for err in errors
    ]


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(
        {"detail": sanitize_validation_errors(exc.errors())},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = exc.headers
    allowed = _documented_methods(request) if exc.status_code == 405 else None
    if allowed:
        headers = {**(headers or {}), "Allow": allowed}
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _documented_methods(request: Request) -> str | None:
    """Every method of the path (Starlette names only those of the first route it matched)."""
    template = route_template(request.scope) or request.url.path
    operations = request.app.openapi().get("paths", {}).get(template, {})
    return ", ".join(sorted(method.upper() for method in operations)) or None


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    code = _status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, InvalidInputError) and exc.loc:
        body: dict[str, Any] = {"detail": [error_item(exc.loc, exc.detail)]}
    else:
        body = {"detail": exc.detail}
    return JSONResponse(body, status_code=code, headers=headers)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    lost_connection = isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    if isinstance(exc, DBAPIError) and not lost_connection:
        return await _unexpected_error(request, exc)
    await log.awarning("database unavailable", error=type(exc.__cause__ or exc).__name__)
    return JSONResponse(
        {"detail": "Database temporarily unavailable"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    await log.aexception("unhandled error", exc_info=exc)
    report_error(exc)
    return JSONResponse(
        {"detail": "Internal server error"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def register_error_handlers(app: FastAPI) -> None:
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(DomainError)(_domain_error)
    app.exception_handler(DBAPIError)(_database_unavailable)
    app.exception_handler(PoolTimeoutError)(_database_unavailable)
    app.exception_handler(Exception)(_unexpected_error)
