"""API layer helpers: list parameters, paginated responses, errors, docs and health."""

from app.core.api.params import ListParamsBuilder
from app.core.api.responses import ErrorResponse, PaginatedResponse

__all__ = ["ErrorResponse", "ListParamsBuilder", "PaginatedResponse"]
