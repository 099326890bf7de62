import unicodedata
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.core.db import BaseModel, SoftDeleteMixin

_NOT_DELETED = text("deleted_at IS NULL")


def username_key(username: str) -> str:
    """How a username is compared: Unicode-normalised (NFKC) and lowercased."""
    return unicodedata.normalize("NFKC", username).lower()


class UserStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class User(SoftDeleteMixin, BaseModel):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_created_at", "created_at"),
        # Unique among live rows only: a deleted account frees its email and username.
        Index(
            "uq_users_email_live",
            "email",
            unique=True,
            postgresql_where=_NOT_DELETED,
            sqlite_where=_NOT_DELETED,
        ),
        # Usernames differ in more than letter case: "Admin" cannot join "admin".
        Index(
            "uq_users_username_key_live",
            "username_key",
            unique=True,
            postgresql_where=_NOT_DELETED,
            sqlite_where=_NOT_DELETED,
        ),
    )

    email: Mapped[str] = mapped_column(String(320))
    username: Mapped[str] = mapped_column(String(50))
    # The username as looked up and compared: lowercased (set with ``username``).
    username_key: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[UserStatus] = mapped_column(
        Enum(
            UserStatus,
            native_enum=False,
            length=20,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        default=UserStatus.ACTIVE,
        index=True,
    )
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Set when the user follows a verification link mailed to ``email``.
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    # An address the user asked to move to: it replaces ``email`` once verified.
    pending_email: Mapped[str | None] = mapped_column(String(320), default=None)
    # Two-factor sign-in: the TOTP secret, encrypted (set at enrolment); on once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The time step of the last code accepted: a code works once, and none older after it.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)

    @validates("username")
    def _keep_username_key(self, _key: str, username: str) -> str:
        self.username_key = username_key(username)
        return username

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIVE and not self.is_deleted
