"""API layer helpers: list parameters, paginated responses, rate limits, errors, docs, health."""

from typing import Annotated

from fastapi import Path

from app.core.api.limiter import ConfigurableRateLimiter, client_address
from app.core.api.middleware import max_body_bytes
from app.core.api.params import ListParamsBuilder
from app.core.api.responses import ErrorResponse, NoStore, PaginatedResponse, error_responses

# A primary key in a path: positive and within a 32-bit INTEGER column.
ResourceId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Numeric id")]

__all__ = [
    "ConfigurableRateLimiter",
    "ErrorResponse",
    "ListParamsBuilder",
    "NoStore",
    "PaginatedResponse",
    "ResourceId",
    "client_address",
    "error_responses",
    "max_body_bytes",
]
