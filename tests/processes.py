"""The kit's own commands run as real processes: ``serve`` and ``worker``."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.mail import free_port

ROOT = Path(__file__).resolve().parents[1]


def embedded_env(database: Path, **overrides: str) -> dict[str, str]:
    """Environment for a process on its own SQLite file, with no Redis and no SMTP server."""
    return {
        **os.environ,
        "APP_ENV": "local",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "REDIS_URL": "",
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "COVERAGE_PROCESS_START": "",
        **overrides,
    }


@contextmanager
def api_server(
    env: Mapping[str, str], *, workers: int = 1, log: IO[bytes] | None = None
) -> Iterator[str]:
    """``python -m app serve`` on a free port, once ``/health`` answers; its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "app", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield base
    finally:
        _stop(process)


@contextmanager
def worker_process(
    env: Mapping[str, str], *, workers: int = 1, log: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m app worker``; killed with its children on exit."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "app", "worker", "--workers", str(workers)],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
