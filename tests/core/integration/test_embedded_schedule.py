"""Without Redis the API process runs the schedule: a real embedded server records the jobs it
schedules (a new job is written down when first seen, then waits for its first tick)."""

import sqlite3
import time
from pathlib import Path

import pytest

from tests.processes import api_server, embedded_env

pytestmark = pytest.mark.slow


def scheduled_jobs(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM scheduled_jobs ORDER BY name").fetchall()
    return [name for (name,) in rows]


def test_the_embedded_api_runs_the_schedule(tmp_path: Path) -> None:
    database = tmp_path / "scheduled.db"
    with api_server(embedded_env(database, SCHEDULER_POLL_SECONDS="0.2")):
        deadline = time.monotonic() + 20
        while not scheduled_jobs(database) and time.monotonic() < deadline:
            time.sleep(0.1)
        seen = scheduled_jobs(database)

    assert "auth.purge_stale_tokens" in seen


def test_no_schedule_in_the_api_when_its_poll_is_zero(tmp_path: Path) -> None:
    database = tmp_path / "unscheduled.db"
    with api_server(embedded_env(database, SCHEDULER_POLL_SECONDS="0")):
        time.sleep(1)
        seen = scheduled_jobs(database)

    assert seen == []
