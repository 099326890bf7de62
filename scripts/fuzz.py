"""Fuzz the running API with Schemathesis: real mode, signed in as an admin, every check.

Starts ``python -m app serve`` on a free loopback port against a scratch PostgreSQL database
and Redis (the addresses of ``.test.env``), runs ``schemathesis run`` and exits with its status.
Usage: ``python scripts/fuzz.py [extra schemathesis options]`` (``make fuzz``).
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEST_ENV = ROOT / ".test.env"
ADMIN = {"email": "fuzz-admin@example.com", "username": "fuzz_admin", "password": "fuzz-admin-pass"}
# Deleting the signed-in account would leave the rest of the run unauthenticated.
EXCLUDED_OPERATIONS = ["delete_profile_api_v1_profile_delete"]


def _test_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in TEST_ENV.read_text().splitlines():
        key, separator, value = line.partition("=")
        if separator and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _scratch_database(url: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database}_fuzz"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(False)


@contextlib.contextmanager
def _server(env: dict[str, str], port: int) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    log = (ROOT / "var" / "fuzz-server.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "python"), "-m", "app", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the API did not start; see var/fuzz-server.log")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def main() -> int:
    (ROOT / "var").mkdir(exist_ok=True)
    settings = _test_env()
    env = {
        **os.environ,
        **settings,
        **{key: os.environ[key] for key in settings if key in os.environ},
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "QUEUE_NAME": "fuzz-tasks",
    }
    env["DATABASE_URL"] = _scratch_database(env["DATABASE_URL"])
    subprocess.run(
        [str(BIN / "python"), "-m", "app", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "app",
            "create-admin",
            "--email",
            ADMIN["email"],
            "--username",
            ADMIN["username"],
            "--password",
            ADMIN["password"],
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with _server(env, _free_port()) as base:
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            data={"username": ADMIN["username"], "password": ADMIN["password"]},
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        command = [
            str(BIN / "schemathesis"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "100",
            "--header",
            f"Authorization: Bearer {token}",
            "--workers",
            "1",
            "--seed",
            "1",
            "--report-dir",
            str(ROOT / "var" / "fuzz-report"),
            "--no-color",
        ]
        for operation in EXCLUDED_OPERATIONS:
            command += ["--exclude-operation-id", operation]
        return subprocess.run([*command, *sys.argv[1:]], cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
