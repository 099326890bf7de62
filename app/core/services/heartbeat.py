"""Liveness of queue worker and scheduler processes, for container health checks.

Each such process's event loop touches a file named after its pid every few seconds;
``python -m app healthcheck worker`` (or ``scheduler``) passes when at least one is running and
every running one's file is fresh. A process whose loop is stuck stops touching its file.
"""

import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path

from app.core.configs import AppConfig

INTERVAL_SECONDS = 5.0


def heartbeat_dir(config: AppConfig, role: str = "worker") -> Path:
    return Path(tempfile.gettempdir()) / f"{config.QUEUE_NAME}-{role}-heartbeats"


class Heartbeat:
    """Touches ``directory/<pid>`` every ``interval`` seconds while started."""

    def __init__(self, directory: Path, interval: float = INTERVAL_SECONDS) -> None:
        self._directory = directory
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def path(self) -> Path:
        return self._directory / str(os.getpid())  # the process's own, also after a fork

    async def start(self) -> None:
        await asyncio.to_thread(self._directory.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(self.path.touch)
        self._task = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.path.unlink, missing_ok=True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await asyncio.to_thread(self.path.touch)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed worker stays a zombie until reaped: it is not running
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def check_workers(directory: Path, max_age: float, what: str = "queue worker") -> str | None:
    """``None`` when every running process beat within ``max_age`` seconds, else the problem
    (``what`` names the processes)."""
    now = time.time()
    running = stale = 0
    for path in directory.glob("*") if directory.is_dir() else []:
        if not path.name.isdigit() or not _running(int(path.name)):
            continue
        running += 1
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime > max_age:
                stale += 1
    if not running:
        return f"no {what} is running"
    if stale:
        return f"{stale} of {running} {what}s did not beat in {max_age:g} s"
    return None
