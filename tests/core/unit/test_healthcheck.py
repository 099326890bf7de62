"""``python -m app healthcheck``: the API's /health over real HTTP, and queue workers' beats."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.services.heartbeat import Heartbeat, check_workers

runner = CliRunner()


def serve_status(status: int) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthy_port() -> Iterator[int]:
    yield from serve_status(200)


@pytest.fixture
def failing_port() -> Iterator[int]:
    yield from serve_status(500)


def test_api_check_passes_when_health_answers_200(healthy_port: int) -> None:
    result = runner.invoke(cli, ["healthcheck", "--port", str(healthy_port)])

    assert result.exit_code == 0, result.output


def test_api_check_reads_the_port_from_the_environment(healthy_port: int) -> None:
    result = runner.invoke(cli, ["healthcheck"], env={"PORT": str(healthy_port)})

    assert result.exit_code == 0, result.output


def test_api_check_fails_on_an_error_status(failing_port: int) -> None:
    result = runner.invoke(cli, ["healthcheck", "--port", str(failing_port)])

    assert result.exit_code == 1
    assert "500" in result.output


def test_api_check_fails_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed

    result = runner.invoke(cli, ["healthcheck", "--port", str(port), "--timeout", "1"])

    assert result.exit_code == 1
    assert f"127.0.0.1:{port}/health" in result.output


def test_no_heartbeat_means_no_worker(tmp_path: Path) -> None:
    assert check_workers(tmp_path / "missing", max_age=20) == "no queue worker is running"
    assert check_workers(tmp_path, max_age=20) == "no queue worker is running"


async def test_a_running_worker_that_beats_is_healthy(tmp_path: Path) -> None:
    heartbeat = Heartbeat(tmp_path, interval=0.05)
    await heartbeat.start()
    try:
        first = heartbeat.path.stat().st_mtime_ns
        await asyncio.sleep(0.2)
        assert heartbeat.path.stat().st_mtime_ns > first
        assert heartbeat.path.name == str(os.getpid())
        assert check_workers(tmp_path, max_age=20) is None
    finally:
        await heartbeat.stop()

    assert not heartbeat.path.exists()


def test_a_worker_that_stopped_beating_is_unhealthy(tmp_path: Path) -> None:
    beat = tmp_path / str(os.getpid())
    beat.touch()
    old = time.time() - 60
    os.utime(beat, (old, old))

    assert check_workers(tmp_path, max_age=20) == "1 of 1 queue workers did not beat in 20 s"


def test_beats_of_processes_that_are_gone_are_ignored(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / finished.stdout.strip()).touch()
    (tmp_path / "not-a-pid").touch()

    assert check_workers(tmp_path, max_age=20) == "no queue worker is running"
