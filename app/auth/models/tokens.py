"""Sessions and the tokens of the auth module: only SHA-256 hashes of tokens are stored."""

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


class EmailVerificationToken(BaseModel):
    """A link mailed to ``email`` (the account's, or the address it is moving to)."""

    __tablename__ = "email_verification_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class UserSession(BaseModel):
    """What the user sees of a session (a refresh token family): where it signed in from and
    when it was last refreshed. It is live while its family has a live refresh token."""

    __tablename__ = "user_sessions"

    family_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_used_at: Mapped[datetime]
    ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)


class RecoveryCode(BaseModel):
    """A one-time two-factor code, given to the user when 2FA is turned on."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
