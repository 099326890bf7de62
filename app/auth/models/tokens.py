"""Refresh and password-reset tokens: only their SHA-256 hashes are stored."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models.user import User
from app.core.db import BaseModel


class RefreshToken(BaseModel):
    """One step of a session: rotating a token revokes it and issues its successor in the
    same family; presenting a revoked token revokes the whole family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    # Indexed for the scheduled purge of stale tokens (auth.purge_stale_tokens).
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    # lazy="raise": an accidental lazy load fails loudly instead of blocking async code.
    user: Mapped[User] = relationship(lazy="raise")


class PasswordResetToken(BaseModel):
    __tablename__ = "password_reset_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    user: Mapped[User] = relationship(lazy="raise")
