"""What can go wrong in the auth module, as domain errors the core handler turns into HTTP."""

from app.core.exceptions import (
    ActionNotAllowed,
    AlreadyExistsError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
)


class UserNotFound(NotFoundError):
    detail = "User not found"


class EmailAlreadyTaken(AlreadyExistsError):
    detail = "This email is already registered"


class UsernameAlreadyTaken(AlreadyExistsError):
    detail = "This username is already taken"


class InvalidCredentials(AuthenticationError):
    detail = "Incorrect login or password"


class InvalidToken(AuthenticationError):
    detail = "Could not validate credentials"


class InvalidResetToken(AuthenticationError):
    detail = "The reset token is invalid or has expired"


class WrongCurrentPassword(ActionNotAllowed):
    detail = "Changing the email or password needs the correct current_password"


class WeakPassword(InvalidInputError):
    """A new password that fails the policy; the message says why, never what it was."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, loc=("body", "password"))


__all__ = [
    "ActionNotAllowed",
    "EmailAlreadyTaken",
    "InvalidCredentials",
    "InvalidResetToken",
    "InvalidToken",
    "UserNotFound",
    "UsernameAlreadyTaken",
    "WeakPassword",
    "WrongCurrentPassword",
]
