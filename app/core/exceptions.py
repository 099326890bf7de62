"""Domain exceptions: services raise them, one handler in ``app.core.api`` turns them into HTTP."""

from typing import Any


class DomainError(Exception):
    """Base class for errors a client can cause and should be told about."""

    detail: str = "The request could not be processed"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class NotFoundError(DomainError):
    detail = "Not found"


class AlreadyExistsError(DomainError):
    detail = "Already exists"


class ActionNotAllowed(DomainError):
    detail = "You are not allowed to perform this action"


class AuthenticationError(DomainError):
    detail = "Could not validate credentials"


class InvalidInputError(DomainError):
    """Input that passed schema validation but is wrong for this operation."""

    detail = "Invalid input"

    def __init__(self, detail: str | None = None, *, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(detail)
        self.loc = loc


class InvalidListParams(InvalidInputError):
    """A sort, filter or page value the repository cannot apply."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message, loc=("query", param))
        self.param = param


class TooManyAttempts(DomainError):
    """A caller or an account used up its budget for an expensive or guessable operation."""

    detail = "Too many attempts; try again later"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A backing service (database, cache, mail server) does not answer."""

    detail = "Service temporarily unavailable"


def error_item(loc: tuple[str | int, ...], msg: str, type_: str = "value_error") -> dict[str, Any]:
    """One entry of a validation ``detail`` list, in FastAPI's own shape."""
    return {"loc": list(loc), "msg": msg, "type": type_}


__all__ = [
    "ActionNotAllowed",
    "AlreadyExistsError",
    "AuthenticationError",
    "DomainError",
    "InvalidInputError",
    "InvalidListParams",
    "NotFoundError",
    "ServiceUnavailable",
    "TooManyAttempts",
    "error_item",
]
