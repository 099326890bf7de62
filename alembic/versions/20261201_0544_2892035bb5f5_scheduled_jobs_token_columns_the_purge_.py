"""scheduled jobs; token columns the purge reads are indexed

Revision ID: 2892035bb5f5
Revises: b23db579c876
Create Date: 2026-12-01 05:44:15.194348+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.core.db.types
from alembic import op

revision: str = "2892035bb5f5"
down_revision: str | Sequence[str] | None = "b23db579c876"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("last_tick", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_jobs")),
        sa.UniqueConstraint("name", name=op.f("uq_scheduled_jobs_name")),
    )
    with op.batch_alter_table("password_reset_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_reset_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_password_reset_tokens_used_at"), ["used_at"], unique=False
        )

    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_revoked_at"), ["revoked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_revoked_at"))
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_expires_at"))

    with op.batch_alter_table("password_reset_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_reset_tokens_used_at"))
        batch_op.drop_index(batch_op.f("ix_password_reset_tokens_expires_at"))

    op.drop_table("scheduled_jobs")