"""``python -m app create-admin`` against a scratch SQLite database, in a real process."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, database: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "REDIS_URL": ""}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_admin_with_flags_or_prompts_and_refuse_duplicates(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    assert run("migrate", database=database).returncode == 0

    created = run(
        "create-admin",
        "--email",
        "Boss@Example.com",
        "--username",
        "boss",
        "--password",
        "rusty-lantern-4-harbour",
        database=database,
    )
    duplicate = run(
        "create-admin",
        "--email",
        "boss@example.com",
        "--username",
        "boss2",
        "--password",
        "rusty-lantern-4-harbour",
        database=database,
    )
    invalid = run(
        "create-admin", "--email", "nope", "--username", "b", "--password", "x", database=database
    )

    assert created.returncode == 0, created.stderr
    assert "Admin boss created" in created.stdout
    assert duplicate.returncode == 1
    assert "already registered" in duplicate.stderr
    assert invalid.returncode == 2
    assert "email" in invalid.stderr
    prompted = run(
        "create-admin",
        database=database,
        stdin="chief@example.com\nchief\nchief-password\nchief-password\n",
    )
    assert prompted.returncode == 0, prompted.stderr
    assert "Admin chief created" in prompted.stdout


def test_create_admin_makes_a_verified_account(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    assert run("migrate", database=database).returncode == 0
    created = run(
        "create-admin",
        "--email",
        "boss@example.com",
        "--username",
        "boss",
        "--password",
        "rusty-lantern-4-harbour",
        database=database,
    )
    assert created.returncode == 0, created.stderr

    with sqlite3.connect(database) as connection:
        [(verified_at,)] = connection.execute("SELECT email_verified_at FROM users").fetchall()
        links = connection.execute("SELECT count(*) FROM email_verification_tokens").fetchone()

    assert verified_at is not None
    assert links == (0,)
