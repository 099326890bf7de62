"""email verification, sessions, two-factor sign-in

Sessions signed in before this revision get a row each (no address or user agent known).

Revision ID: 744a74b3a732
Revises: 2892035bb5f5
Create Date: 2026-12-01 07:40:09.457017+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.core.db.types
from alembic import op

revision: str = "744a74b3a732"
down_revision: str | Sequence[str] | None = "2892035bb5f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_verification_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("expires_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_verification_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_verification_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_verification_tokens_token_hash")),
    )
    with op.batch_alter_table("email_verification_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_verification_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_email_verification_tokens_used_at"), ["used_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_email_verification_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", app.core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_codes_code_hash")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_sessions",
        sa.Column("family_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_used_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("family_id", name=op.f("uq_user_sessions_family_id")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_verified_at", app.core.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("pending_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column(
                "totp_enabled_at", app.core.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))

    op.execute(
        "INSERT INTO user_sessions (family_id, user_id, last_used_at, created_at, updated_at) "
        "SELECT family_id, MIN(user_id), MAX(created_at), MIN(created_at), MAX(created_at) "
        "FROM refresh_tokens GROUP BY family_id"
    )



def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("pending_email")
        batch_op.drop_column("email_verified_at")

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))

    op.drop_table("user_sessions")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_user_id"))

    op.drop_table("recovery_codes")
    with op.batch_alter_table("email_verification_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_verification_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_email_verification_tokens_used_at"))
        batch_op.drop_index(batch_op.f("ix_email_verification_tokens_expires_at"))

    op.drop_table("email_verification_tokens")
