"""Drill: Redis stops under load and comes back empty.

Authenticated reads run on 16 connections against the API (rate limiter on) with one queue
worker and a local SMTP server. Redis is shut down without saving for ``DRILL_DOWN_SECONDS``;
meanwhile a password reset is asked for and a user registers, both of which queue a mail.
Passes when every read answers 200 throughout, ``/health/ready`` names Redis while it is down,
and both mails arrive once Redis is back (the worker and the API reconnect by themselves).

Run as a user allowed to stop the local Redis: ``python -m bench.drills.redis_stop``. It stops
the machine's Redis for a few seconds, whatever else uses it.
"""

import asyncio
import os
from dataclasses import dataclass, field

import httpx

from bench.drills.common import (
    Checks,
    MailSink,
    authenticated_reads,
    restored,
    service,
    wait_ready,
    worker_command,
)
from bench.harness import (
    LOGS,
    PASSWORD,
    kit_env,
    kit_server,
    login,
    production_hasher,
    running,
    seed_users,
)
from bench.load import Sample, statuses

DOWN_SECONDS = float(os.environ.get("DRILL_DOWN_SECONDS", "5"))
MAIL_TIMEOUT = 30.0


@dataclass
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    up: float = 0.0  # when Redis answered again
    ready_while_down: tuple[int, dict[str, str]] = (0, {})
    ready_after: tuple[int, dict[str, str]] = (0, {})
    writes_while_down: tuple[int, int] = (0, 0)


async def drill(base: str, token: str) -> Outcome:
    stop = asyncio.Event()
    load = authenticated_reads(base, token, stop)
    outcome = Outcome()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.sleep(3)
        await asyncio.to_thread(service, "redis_stop")
        await asyncio.sleep(0.5)
        ready = await client.get("/health/ready")
        outcome.ready_while_down = (ready.status_code, ready.json().get("checks", {}))
        restore = await client.post(
            "/api/v1/auth/restore-password", json={"email": "user5@example.com"}
        )
        register = await client.post(
            "/api/v1/auth/register",
            json={"email": "newcomer@example.com", "username": "newcomer", "password": PASSWORD},
        )
        outcome.writes_while_down = (restore.status_code, register.status_code)
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(service, "redis_start")
        outcome.up = await asyncio.to_thread(wait_ready, "redis")
        await asyncio.sleep(5)
        ready = await client.get("/health/ready")
        outcome.ready_after = (ready.status_code, ready.json().get("checks", {}))
    stop.set()
    outcome.samples = await load
    return outcome


def main() -> None:
    checks = Checks("redis stop")
    with MailSink() as sink, restored("redis"):
        env = kit_env(
            "drill_redis",
            redis_db=12,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(sink.port),
            RATE_LIMITER_ENABLED="true",
        )
        seed_users(env["DATABASE_URL"], 100, production_hasher()._hash.hash(PASSWORD))
        with (
            running(worker_command(), env, LOGS / "drill_redis_worker.log"),
            kit_server(env, "drill_redis.log") as kit,
        ):
            token = login(kit.base, "user_1")["access_token"]
            outcome = asyncio.run(drill(kit.base, token))
            reset_mail = sink.wait_for("user5@example.com", timeout=MAIL_TIMEOUT)
            welcome_mail = sink.wait_for("newcomer@example.com", timeout=MAIL_TIMEOUT)

    print(f"  reads: {statuses(outcome.samples)}")
    checks.check(
        all(sample.status == 200 for sample in outcome.samples),
        "every authenticated read answered 200",
    )
    code, ready_checks = outcome.ready_while_down
    print(f"  /health/ready while down: {code} {ready_checks}")
    checks.check(
        code == 503 and ready_checks.get("redis") == "unavailable", "/health/ready reports Redis"
    )
    print(f"  restore-password, register while down: {outcome.writes_while_down}")
    checks.check(
        outcome.writes_while_down == (202, 201), "mail-sending requests accepted while down"
    )
    code, ready_checks = outcome.ready_after
    checks.check(code == 200, f"/health/ready 200 again after the restart ({code} {ready_checks})")
    for name, mails in (("reset", reset_mail), ("welcome", welcome_mail)):
        delay = f"{mails[0].at - outcome.up:.1f} s after Redis was back" if mails else "never"
        print(f"  {name} mail: {len(mails)} delivered, {delay}")
        checks.check(len(mails) == 1, f"the {name} mail queued while Redis was down arrived once")
    checks.verdict()


if __name__ == "__main__":
    main()
