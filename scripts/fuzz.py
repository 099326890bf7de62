"""Fuzz the running API with Schemathesis: real mode, signed in as an admin, every check.

Starts ``python -m app serve`` on a free loopback port against a scratch PostgreSQL database
and Redis (the addresses of ``.test.env``), runs ``schemathesis run`` and exits with its status.
Usage: ``python -m scripts.fuzz [extra schemathesis options]`` (``make fuzz``).
"""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from scripts.local_services import free_port, scratch_database, test_env, wait_until_answering

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN = {"email": "fuzz-admin@example.com", "username": "fuzz_admin", "password": "fuzz-admin-pass"}
# Deleting the signed-in account would leave the rest of the run unauthenticated.
EXCLUDED_OPERATIONS = ["delete_profile_api_v1_profile_delete"]


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
        wait_until_answering(f"{base}/health/ready", process, Path(log.name))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def main() -> int:
    (ROOT / "var").mkdir(exist_ok=True)
    settings = test_env()
    env = {
        **os.environ,
        **settings,
        **{key: os.environ[key] for key in settings if key in os.environ},
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "QUEUE_NAME": "fuzz-tasks",
    }
    env["DATABASE_URL"] = scratch_database(env["DATABASE_URL"], "fuzz")
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
    with _server(env, free_port()) as base:
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
