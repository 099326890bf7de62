"""the outbox table for queued tasks: written with the transaction, relayed after it

Revision ID: 61af131fea11
Revises: 5b2c9e1f7a30
Create Date: 2026-12-01 01:00:25.168861+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.core.db.types
from alembic import op

revision: str = "61af131fea11"
down_revision: str | Sequence[str] | None = "5b2c9e1f7a30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_name", sa.String(length=200), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("send_after", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("task_id", name=op.f("uq_outbox_task_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_send_after_id", ["send_after", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_send_after_id")

    op.drop_table("outbox")
