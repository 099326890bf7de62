"""What the benchmark and the drills share: a migrated scratch database with users, the kit's
environment in production mode, and its processes (API server, queue workers) on loopback."""

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from app.auth.config import AuthConfig
from app.auth.services.passwords import PasswordHasher
from scripts.local_services import free_port, scratch_database, test_env, wait_until_answering

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PASSWORD = "bench-password-1"
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"
LOGS = ROOT / "var" / "bench"


def debian_tool(binary: str, package: str) -> str:
    """The path of ``binary``, installing Debian's ``package`` first when it is missing and this
    runs as root with apt (a fresh CI-like machine); otherwise exits saying what to install."""
    if _tool_path(binary) is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", package],
            check=True,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    found = _tool_path(binary)
    if found is None:
        raise SystemExit(f"{binary} not found: apt-get install {package}")
    return found


def _tool_path(binary: str) -> str | None:
    sbin = Path("/usr/sbin") / binary  # not on PATH for every user
    return shutil.which(binary) or (str(sbin) if sbin.exists() else None)


def production_hasher() -> PasswordHasher:
    """The kit's hasher with its production parameters (``.test.env``'s cheap ones ignored)."""
    return PasswordHasher(AuthConfig(_env_file=None))


def kit_env(name: str, redis_db: int, **overrides: str) -> dict[str, str]:
    """The kit's environment in production mode on a new scratch database ``<test db>_<name>``,
    migrated; Redis database ``redis_db``. ``overrides`` are set last."""
    settings = test_env()
    database = scratch_database(os.environ.get("DATABASE_URL", settings["DATABASE_URL"]), name)
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database,
        "REDIS_URL": f"{settings['REDIS_URL'].rsplit('/', 1)[0]}/{redis_db}",
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "QUEUE_NAME": f"{name}-tasks",
        **overrides,
    }
    for key in (
        "PASSWORD_HASH_TIME_COST",
        "PASSWORD_HASH_MEMORY_COST",
        "PASSWORD_HASH_PARALLELISM",
    ):
        env.pop(key, None)
    subprocess.run(
        [PYTHON, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


def seed_users(url: str, upto: int, password_hash: str, *, admins: int = 0) -> None:
    """Users ``user_1`` … ``user_<upto>`` (the first ``admins`` of them admins), all with
    ``password_hash``; rows that exist already are kept."""
    with psycopg.connect(libpq_url(url)) as connection:
        last = connection.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()
        start = (last[0] if last else 0) + 1
        if start <= upto:
            connection.execute(
                "INSERT INTO users (email, username, username_key, password_hash, status, is_admin,"
                " created_at, updated_at) SELECT 'user' || g || '@example.com', 'user_' || g,"
                " 'user_' || g, %s, 'active', g <= %s, now() - g * interval '1 second', now()"
                " FROM generate_series(%s::int, %s::int) g",
                (password_hash, admins, start, upto),
            )
        connection.execute("ANALYZE users")


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


@dataclass
class Process:
    """A process of the kit started by ``running``; ``base`` is its URL when it serves HTTP."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mib(self) -> float:
        """Resident memory of the process, from ``/proc`` (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for process {self.pid}")


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` from the project root, output to ``log``; terminate it on exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], log: Path) -> Iterator[Process]:
    """Serve with ``command`` (which ends with ``--port``) on a free port until ``/health``
    answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([*command, str(port)], env, log) as process:
        wait_until_answering(f"{base}/health", process, log)
        yield Process(process, base, log)


def kit_server(
    env: dict[str, str], log_name: str = "kit.log", *, workers: int = 1
) -> contextlib.AbstractContextManager[Process]:
    """``python -m app serve`` (``workers`` uvicorn workers) on a free port."""
    command = [PYTHON, "-m", "app", "serve", "--no-migrate", "--workers", str(workers), "--port"]
    return server(command, env, LOGS / log_name)


def login(base: str, username: str) -> dict[str, str]:
    """Tokens of ``username`` (password ``PASSWORD``)."""
    response = httpx.post(
        f"{base}/api/v1/auth/login", data={"username": username, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    tokens: dict[str, str] = response.json()
    return tokens
