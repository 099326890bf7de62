from app.auth.repositories.tokens import PasswordResetTokenRepository, RefreshTokenRepository
from app.auth.repositories.user import UserRepository

__all__ = ["PasswordResetTokenRepository", "RefreshTokenRepository", "UserRepository"]
