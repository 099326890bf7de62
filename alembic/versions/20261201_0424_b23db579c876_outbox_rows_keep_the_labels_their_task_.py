"""outbox rows keep the labels their task is sent with

Revision ID: b23db579c876
Revises: 61af131fea11
Create Date: 2026-12-01 04:24:01.541562+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "b23db579c876"
down_revision: str | Sequence[str] | None = "61af131fea11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("labels")
