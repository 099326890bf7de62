"""Fuzz the running API: Schemathesis (real mode, signed in as an admin, every check) with
several seeds, then explicit hostile cases for every operation (``scripts.hostile``).

Starts ``python -m app serve`` on a free loopback port against a scratch PostgreSQL database
and Redis (the addresses of ``.test.env``, or ``TEST_<KEY>`` as for the tests), and exits
non-zero when any run found a failure. Usage: ``python -m scripts.fuzz [extra schemathesis
options]`` (``make fuzz``); ``FUZZ_SEEDS="1 2 3"`` sets the seeds, ``FUZZ_MAX_EXAMPLES``
(100) the examples per operation and seed.
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from scripts.hostile import check_api
from scripts.local_services import create_admin, scratch_database, serve, test_env

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN = {"email": "fuzz-admin@example.com", "username": "fuzz_admin", "password": "fuzz-admin-pass"}
# Deleting the signed-in account would leave the rest of the run unauthenticated.
EXCLUDED_OPERATIONS = ["profile-remove"]
# The stateful phase ends the sessions it lists, the signed-in one too: these run last, on a
# session of their own (each run signs in afresh).
OWN_SESSION_OPERATIONS = ["profile-list-sessions", "profile-end-session"]


def main() -> int:
    (ROOT / "var").mkdir(exist_ok=True)
    settings = test_env()
    env = {
        **os.environ,
        **settings,
        **{key: os.environ[f"TEST_{key}"] for key in settings if f"TEST_{key}" in os.environ},
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "QUEUE_NAME": "fuzz-tasks",
        # Password strength is a rule JSON Schema cannot state (like a taken email, which gets
        # 409): generated passwords would be refused as "schema-valid but rejected". The
        # schema-stated rules (length, not blank, no NUL) stay.
        "PASSWORD_MIN_SCORE": "0",
    }
    env["DATABASE_URL"] = scratch_database(env["DATABASE_URL"], "fuzz")
    create_admin(env, ADMIN["email"], ADMIN["username"], ADMIN["password"])
    with serve(env, ROOT / "var" / "fuzz-server.log") as base:
        document = httpx.get(f"{base}/openapi.json").json()
        known = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
        if unknown := set(EXCLUDED_OPERATIONS + OWN_SESSION_OPERATIONS) - known:
            raise SystemExit(f"operations named here are not in the document: {sorted(unknown)}")
        failed = False
        seeds = os.environ.get("FUZZ_SEEDS", "1 2 3").split()
        everything_else = EXCLUDED_OPERATIONS + OWN_SESSION_OPERATIONS
        runs = [
            (seed, [f"--exclude-operation-id={op}" for op in everything_else]) for seed in seeds
        ]
        runs.append((seeds[0], [f"--include-operation-id={op}" for op in OWN_SESSION_OPERATIONS]))
        for seed, selection in runs:
            command = [
                str(BIN / "schemathesis"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                os.environ.get("FUZZ_MAX_EXAMPLES", "100"),
                "--header",
                f"Authorization: Bearer {_sign_in(base)}",
                "--workers",
                "1",
                "--seed",
                seed,
                "--report-dir",
                str(ROOT / "var" / "fuzz-report"),
                "--no-color",
                *selection,
            ]
            run = subprocess.run([*command, *sys.argv[1:]], cwd=ROOT, env=env, check=False)
            failed = failed or run.returncode != 0
        failures = check_api(base, _sign_in(base), env["SECRET_KEY"])
        for failure in failures:
            print(f"  {failure}")
        return 1 if failed or failures else 0


def _sign_in(base: str) -> str:
    """A fresh session of the fuzzing admin: its access token. By email: the runs change the
    username freely, while a new email waits for a verification link nobody follows."""
    login = httpx.post(
        f"{base}/api/v1/auth/login",
        data={"username": ADMIN["email"], "password": ADMIN["password"]},
    )
    login.raise_for_status()
    token: str = login.json()["access_token"]
    return token


if __name__ == "__main__":
    sys.exit(main())
