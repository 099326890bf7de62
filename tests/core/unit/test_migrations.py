"""Migrations run from a clean process, as ``alembic`` on the command line would."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app.core.configs import app_config

ROOT = Path(__file__).resolve().parents[3]


def alembic(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the configured kind."""
    url = make_url(app_config.DATABASE_URL)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"{url.database}_migrations"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_check_and_downgrade_on_an_empty_database(scratch_database_url: str) -> None:
    upgrade = alembic("upgrade", "head", url=scratch_database_url)
    assert upgrade.returncode == 0, upgrade.stderr

    check = alembic("check", url=scratch_database_url)
    assert check.returncode == 0, check.stderr + check.stdout

    downgrade = alembic("downgrade", "base", url=scratch_database_url)
    assert downgrade.returncode == 0, downgrade.stderr


def test_existing_usernames_get_their_lookup_key(scratch_database_url: str) -> None:
    """Usernames unique whatever their case: rows made before the change are keyed too."""
    assert alembic("upgrade", "e7e63d394088", url=scratch_database_url).returncode == 0
    engine = create_engine(scratch_database_url.replace("+aiosqlite", ""))  # a sync driver
    insert = text(
        "INSERT INTO users (email, username, password_hash, status, is_admin, created_at,"
        " updated_at) VALUES (:email, :username, 'x', 'active', false, :now, :now)"
    )
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert, {"email": "ann@example.com", "username": "Ann", "now": now})

    upgrade = alembic("upgrade", "head", url=scratch_database_url)

    assert upgrade.returncode == 0, upgrade.stderr
    with engine.begin() as connection:
        keys = connection.execute(text("SELECT username, username_key FROM users")).all()
        with pytest.raises(IntegrityError):  # "ANN" is the same name
            connection.execute(
                insert, {"email": "other@example.com", "username": "ANN", "now": now}
            )
    engine.dispose()
    assert [tuple(row) for row in keys] == [("Ann", "ann")]


def test_a_not_null_column_joins_a_table_with_rows_as_the_readme_shows(
    scratch_database_url: str,
) -> None:
    """README, Migrations: add with a server default, then drop the default."""
    url = make_url(scratch_database_url)
    sync_url = url.set(
        drivername="sqlite" if url.get_backend_name() == "sqlite" else url.drivername
    )
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT)"))
            connection.execute(text("INSERT INTO posts (id, title) VALUES (1, 'old')"))
            op = Operations(MigrationContext.configure(connection))
            with op.batch_alter_table("posts") as batch:
                batch.add_column(
                    sa.Column("slug", sa.String(120), nullable=False, server_default="")
                )
            with op.batch_alter_table("posts") as batch:
                batch.alter_column("slug", server_default=None)
            assert connection.execute(text("SELECT slug FROM posts")).scalar_one() == ""
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("INSERT INTO posts (id, title) VALUES (2, 'new')"))
    finally:
        engine.dispose()
