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


class InvalidVerificationToken(AuthenticationError):
    detail = "The verification link is invalid or has expired"


class EmailNotVerified(ActionNotAllowed):
    detail = "Verify your email address first: follow the link mailed to it"


class TwoFactorAlreadyEnabled(AlreadyExistsError):
    detail = "Two-factor sign-in is already on"


class TwoFactorNotEnabled(AlreadyExistsError):
    detail = "Two-factor sign-in is off"


class TwoFactorNotStarted(AlreadyExistsError):
    detail = "Start two-factor enrolment first (POST /profile/2fa)"


class InvalidTwoFactorCode(ActionNotAllowed):
    detail = "The code is not valid"


class TwoFactorFailed(AuthenticationError):
    detail = "The challenge or the code is invalid or has expired"


class SessionNotFound(NotFoundError):
    detail = "No such session"


class WeakPassword(InvalidInputError):
    """A new password that fails the policy; the message says why, never what it was."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, loc=("body", "password"))


def raise_if_taken(taken: set[str]) -> None:
    """409 naming what is taken, from ``UserRepository.taken_fields``."""
    if "email" in taken:
        raise EmailAlreadyTaken
    if "username" in taken:
        raise UsernameAlreadyTaken


__all__ = [
    "ActionNotAllowed",
    "EmailAlreadyTaken",
    "EmailNotVerified",
    "InvalidCredentials",
    "InvalidResetToken",
    "InvalidToken",
    "InvalidTwoFactorCode",
    "InvalidVerificationToken",
    "SessionNotFound",
    "TwoFactorAlreadyEnabled",
    "TwoFactorFailed",
    "TwoFactorNotEnabled",
    "TwoFactorNotStarted",
    "UserNotFound",
    "UsernameAlreadyTaken",
    "WeakPassword",
    "WrongCurrentPassword",
    "raise_if_taken",
]
