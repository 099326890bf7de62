"""Every module's models, imported so Alembic's autogenerate sees them. Add new modules here."""

from app.auth.models import PasswordResetToken, RefreshToken, User
from app.core.db import BaseModel

metadata = BaseModel.metadata

__all__ = ["PasswordResetToken", "RefreshToken", "User", "metadata"]
