"""What the drills share: stopping and starting this machine's services, an SMTP server that
records what it accepted, and a ledger of checks that ends the drill with its verdict."""

import asyncio
import contextlib
import email
import os
import re
import shlex
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from bench.harness import PYTHON, Process
from bench.load import Request, Sample, generate, rotate
from scripts.local_services import free_port

# How the drills stop, start and probe this machine's services (Debian packages). For another
# setup (containers, a service manager), set DRILL_<KEY>, e.g. DRILL_POSTGRES_STOP.
_PG_VERSION = (
    next(iter(sorted(os.listdir("/etc/postgresql"))), "")
    if os.path.isdir("/etc/postgresql")
    else ""
)
SERVICE_COMMANDS = {
    "postgres_stop": f"pg_ctlcluster --skip-systemctl-redirect {_PG_VERSION} main stop -m fast",
    "postgres_start": f"pg_ctlcluster --skip-systemctl-redirect {_PG_VERSION} main start",
    "postgres_ready": "pg_isready -q -h 127.0.0.1 -p 5432",
    "redis_stop": "redis-cli -h 127.0.0.1 -p 6379 shutdown nosave",
    "redis_start": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
    "redis_ready": "redis-cli -h 127.0.0.1 -p 6379 ping",
}


def service(action: str) -> None:
    """Run the command for ``action`` (a key of ``SERVICE_COMMANDS``); ``DRILL_<ACTION>``
    in the environment replaces it."""
    command = os.environ.get(f"DRILL_{action.upper()}", SERVICE_COMMANDS[action])
    subprocess.run(shlex.split(command), check=True, capture_output=True)


def wait_ready(name: str, timeout: float = 60) -> float:
    """Poll ``<name>_ready`` until it succeeds; when it did (``time.monotonic()``)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(subprocess.CalledProcessError):
            service(f"{name}_ready")
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not come back within {timeout} s")
        time.sleep(0.1)


@contextlib.contextmanager
def restored(name: str) -> Iterator[None]:
    """Whatever happens in the drill, ``name`` (postgres or redis) is running afterwards."""
    try:
        yield
    finally:
        try:
            service(f"{name}_ready")
        except subprocess.CalledProcessError:
            service(f"{name}_start")
            wait_ready(name)


@dataclass
class Checks:
    """The drill's assertions: each is printed as it is made; ``verdict`` exits non-zero when
    one failed."""

    name: str
    failed: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
        if not ok:
            self.failed.append(what)

    def verdict(self) -> None:
        if self.failed:
            raise SystemExit(f"{self.name}: {len(self.failed)} check(s) failed")
        print(f"{self.name}: all checks passed")


@dataclass(frozen=True)
class Delivery:
    message_id: str
    subject: str
    recipient: str
    sender_pid: int | None  # the local process that sent it
    at: float


class MailSink:
    """An SMTP server in a thread that keeps what it accepts. With ``hold_next`` set, the next
    mail is held unanswered (so unaccepted) until its client goes away or ``HOLD_SECONDS``."""

    HOLD_SECONDS = 120

    def __init__(self) -> None:
        self.accepted: list[Delivery] = []
        self.abandoned: list[Delivery] = []
        self.hold_next = False
        self.holding: Delivery | None = None
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def __enter__(self) -> "MailSink":
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message: Message = email.message_from_bytes(envelope.content)
        delivery = Delivery(
            message_id=str(message["Message-ID"]),
            subject=str(message["Subject"]),
            recipient=str(message["To"]),
            sender_pid=pid_of_peer(int(session.peer[1])),
            at=time.monotonic(),
        )
        if self.hold_next:
            self.hold_next = False
            self.holding = delivery
            try:
                await asyncio.sleep(self.HOLD_SECONDS)
            except asyncio.CancelledError:  # the client went away: nothing was accepted
                with self._lock:
                    self.abandoned.append(delivery)
                raise
            return "451 Held too long"
        with self._lock:
            self.accepted.append(delivery)
        return "250 Message accepted"

    def accepted_for(self, recipient: str) -> list[Delivery]:
        with self._lock:
            return [delivery for delivery in self.accepted if delivery.recipient == recipient]

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 60) -> list[Delivery]:
        """The deliveries to ``recipient`` once there are ``count`` (or all there are at
        ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(found := self.accepted_for(recipient)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return found


def pid_of_peer(port: int) -> int | None:
    """The local process whose TCP socket has source port ``port`` (Linux ``ss``)."""
    output = subprocess.run(
        ["ss", "-Htnp", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"pid=(\d+)", output)
    return int(found.group(1)) if found else None


def authenticated_reads(base: str, token: str, stop: asyncio.Event) -> "asyncio.Task[list[Sample]]":
    """16 connections reading the profile and a user until ``stop``: the outage drills' load."""
    auth = {"Authorization": f"Bearer {token}"}
    requests = [
        Request("GET", f"{base}/api/v1/profile", auth, name="profile"),
        Request("GET", f"{base}/api/v1/users/7", auth, name="user"),
    ]
    return asyncio.create_task(
        generate(rotate(requests), connections=16, stop=stop, request_timeout=30)
    )


def worker_command(processes: int = 1) -> list[str]:
    return [PYTHON, "-m", "app", "worker", "--workers", str(processes)]


def rss_sampler(process: Process, every: float = 1.0) -> tuple[list[tuple[float, float]], Any]:
    """Start sampling ``process``'s memory in a thread: ``(samples, stop)``; call ``stop()``
    to end it. Samples are ``(time.monotonic(), MiB)``."""
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            samples.append((time.monotonic(), process.rss_mib()))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join()

    return samples, stop


def check_memory_steady(checks: Checks, samples: list[tuple[float, float]], label: str) -> None:
    """The second half of a run must not keep growing: its end within 5 % + 2 MiB of its
    middle (``samples`` from ``rss_sampler``)."""
    rss = [mib for _, mib in samples]
    half = len(rss) // 2
    middle = statistics.mean(rss[half - 3 : half + 3])
    end = statistics.mean(rss[-6:])
    print(
        f"  {label} rss: start {rss[0]:.0f} MiB, middle {middle:.0f} MiB, end {end:.0f} MiB,"
        f" max {max(rss):.0f} MiB"
    )
    checks.check(
        end <= middle * 1.05 + 2, f"{label}: memory steady over the second half (≤ +5 % + 2 MiB)"
    )
