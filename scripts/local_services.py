"""Helpers for the tools that run the kit against this machine's PostgreSQL and Redis
(``make fuzz``, ``make bench``, ``make check-clients``): the ``.test.env`` addresses, scratch
databases, free ports, a served API."""

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def test_env() -> dict[str, str]:
    """The settings in ``.test.env``."""
    values: dict[str, str] = {}
    for line in (ROOT / ".test.env").read_text().splitlines():
        key, separator, value = line.partition("=")
        if separator and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scratch_database(url: str, suffix: str) -> str:
    """A new, empty PostgreSQL database named after ``url``'s plus ``suffix``; its URL."""
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(False)


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200; exit naming ``log`` if ``process`` dies or 60 s pass."""
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start; see {log}")
        time.sleep(0.2)


@contextlib.contextmanager
def serve(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """``python -m app serve`` on a free loopback port, its output in ``log``; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            cwd=ROOT,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_answering(f"{base}/health/ready", process, log)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def create_admin(env: Mapping[str, str], email: str, username: str, password: str) -> None:
    """``python -m app migrate`` then ``create-admin`` with these credentials."""
    for command in (
        ["migrate"],
        ["create-admin", "--email", email, "--username", username, "--password", password],
    ):
        subprocess.run(
            [sys.executable, "-m", "app", *command],
            cwd=ROOT,
            env=dict(env),
            check=True,
            stdout=subprocess.DEVNULL,
        )
