"""usernames unique whatever their case

Revision ID: 5b2c9e1f7a30
Revises: e7e63d394088
Create Date: 2026-11-30 20:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5b2c9e1f7a30"
down_revision: str | Sequence[str] | None = "e7e63d394088"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    # Filled from the existing usernames; fails on live users whose names differ only in case,
    # which must be renamed first.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_key", sa.String(length=50), nullable=True))
    op.execute("UPDATE users SET username_key = lower(username)")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("username_key", existing_type=sa.String(length=50), nullable=False)
        batch_op.drop_index("uq_users_username_live", postgresql_where=LIVE, sqlite_where=LIVE)
        batch_op.create_index(
            "uq_users_username_key_live",
            ["username_key"],
            unique=True,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_username_key_live", postgresql_where=LIVE, sqlite_where=LIVE)
        batch_op.create_index(
            "uq_users_username_live",
            ["username"],
            unique=True,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.drop_column("username_key")
