from app.auth.models.tokens import PasswordResetToken, RefreshToken
from app.auth.models.user import User, UserStatus

__all__ = ["PasswordResetToken", "RefreshToken", "User", "UserStatus"]
