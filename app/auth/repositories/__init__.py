from app.auth.repositories.tokens import (
    EmailVerificationTokenRepository,
    PasswordResetTokenRepository,
    RecoveryCodeRepository,
    RefreshTokenRepository,
    UserSessionRepository,
)
from app.auth.repositories.user import UserRepository

__all__ = [
    "EmailVerificationTokenRepository",
    "PasswordResetTokenRepository",
    "RecoveryCodeRepository",
    "RefreshTokenRepository",
    "UserRepository",
    "UserSessionRepository",
]
