from app.auth.models.tokens import (
    EmailVerificationToken,
    PasswordResetToken,
    RecoveryCode,
    RefreshToken,
    UserSession,
)
from app.auth.models.user import User, UserStatus

__all__ = [
    "EmailVerificationToken",
    "PasswordResetToken",
    "RecoveryCode",
    "RefreshToken",
    "User",
    "UserSession",
    "UserStatus",
]
