"""Drill: PostgreSQL and Redis go silent under load (a fault proxy stops relaying, connections
stay open), as after a network fault or with a frozen host.

The API (production mode, default timeouts) and one queue worker reach PostgreSQL and Redis
through fault proxies; authenticated reads run on 16 connections. PostgreSQL goes silent five
times in a row (``DRILL_SILENCE_SECONDS`` each); then Redis goes silent once while a password
reset is asked for. Passes when no request waits longer than the documented bound, nothing
answers 500 or drops its connection, every endpoint answers 200 within a few seconds of each
silence ending (no slot stays held), reads stay fast while Redis is silent, and the reset mail
queued during the Redis silence arrives without restarting the worker.

``python -m bench.drills.silent_dependencies``; it leaves the machine's services alone.
"""

import asyncio
import os
import time
from dataclasses import dataclass, field

import httpx

from bench.drills.common import Checks, MailSink, authenticated_reads, worker_command
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
from scripts.fault_proxy import Mode, ThreadedFaultProxy

SILENCE_SECONDS = float(os.environ.get("DRILL_SILENCE_SECONDS", "8"))
SILENCES = 5
# Defaults from .sample.env: statement timeout 5 s + answer margin 2 s, pool wait 10 s.
REQUEST_BOUND_SECONDS = 5 + 2 + 10 + 1
RECOVERY_TARGET = 3.0
# A read while Redis is silent: its budget (0.25 s) and the rest of the request.
REDIS_SILENT_READ_SECONDS = 1.0
MAIL_TIMEOUT = 30.0


@dataclass
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    silences: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of each
    redis_silence: tuple[float, float] = (0.0, 0.0)
    bursts: list[list[int]] = field(default_factory=list)  # statuses of a burst after each
    restore_status: int = 0
    restore_seconds: float = 0.0
    ready_after: int = 0


async def burst(client: httpx.AsyncClient, token: str) -> list[int]:
    """40 reads at once: more than the pool holds, so a held slot would show."""
    auth = {"Authorization": f"Bearer {token}"}
    responses = await asyncio.gather(
        *(client.get("/api/v1/profile", headers=auth) for _ in range(40)), return_exceptions=True
    )
    return [r.status_code if isinstance(r, httpx.Response) else 0 for r in responses]


async def drill(
    base: str, token: str, postgres: ThreadedFaultProxy, redis: ThreadedFaultProxy
) -> Outcome:
    outcome = Outcome()
    stop = asyncio.Event()
    load = authenticated_reads(base, token, stop)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.sleep(3)
        for _ in range(SILENCES):
            started = time.monotonic()
            postgres.set_mode(Mode.BLACKHOLE)
            await asyncio.sleep(SILENCE_SECONDS)
            postgres.set_mode(Mode.PASS)
            ended = time.monotonic()
            outcome.silences.append((started, ended))
            await asyncio.sleep(RECOVERY_TARGET)
            outcome.bursts.append(await burst(client, token))
            await asyncio.sleep(1)

        started = time.monotonic()
        redis.set_mode(Mode.BLACKHOLE)
        await asyncio.sleep(0.5)
        restore = await client.post(
            "/api/v1/auth/restore-password", json={"email": "user5@example.com"}
        )
        outcome.restore_status = restore.status_code
        outcome.restore_seconds = time.monotonic() - started - 0.5
        await asyncio.sleep(SILENCE_SECONDS)
        redis.set_mode(Mode.PASS)
        outcome.redis_silence = (started, time.monotonic())
        await asyncio.sleep(RECOVERY_TARGET)
        outcome.ready_after = (await client.get("/health/ready")).status_code
    stop.set()
    outcome.samples = await load
    return outcome


def main() -> None:
    checks = Checks("silent dependencies")
    with MailSink() as sink:
        env = kit_env("drill_silent", redis_db=11, SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port))
        seed_users(env["DATABASE_URL"], 100, production_hasher()._hash.hash(PASSWORD))
        postgres = ThreadedFaultProxy.for_url(env["DATABASE_URL"])
        redis = ThreadedFaultProxy.for_url(env["REDIS_URL"])
        with postgres.running(), redis.running():
            env["DATABASE_URL"] = postgres.url(env["DATABASE_URL"])
            env["REDIS_URL"] = redis.url(env["REDIS_URL"])
            with (
                running(worker_command(), env, LOGS / "drill_silent_worker.log") as worker,
                kit_server(env, "drill_silent.log") as kit,
            ):
                token = login(kit.base, "user_1")["access_token"]
                outcome = asyncio.run(drill(kit.base, token, postgres, redis))
                mails = sink.wait_for("user5@example.com", timeout=MAIL_TIMEOUT)
                worker_alive = worker.poll() is None
                api_alive = kit.process.poll() is None
    report(checks, outcome, mails_delivered=len(mails), alive=worker_alive and api_alive)


def report(checks: Checks, outcome: Outcome, *, mails_delivered: int, alive: bool) -> None:
    samples = outcome.samples
    print(f"  reads: {statuses(samples)}")
    slowest = max((s.seconds for s in samples), default=0.0)
    print(f"  slowest answer: {slowest:.1f} s (bound {REQUEST_BOUND_SECONDS} s)")
    checks.check(slowest <= REQUEST_BOUND_SECONDS, "no request waited past the documented bound")
    checks.check(
        not any(s.status in (0, 500) for s in samples), "no 500, no request left unanswered"
    )
    next_starts = [start for start, _ in outcome.silences[1:]] + [outcome.redis_silence[0]]
    for number, ((_, ended), statuses_, next_start) in enumerate(
        zip(outcome.silences, outcome.bursts, next_starts, strict=True), start=1
    ):
        late = [
            s
            for s in samples
            if ended + RECOVERY_TARGET < s.started
            and s.started + s.seconds < next_start
            and s.status != 200
        ]
        healthy = all(code == 200 for code in statuses_)
        print(
            f"  PostgreSQL silence {number}: burst {sorted(set(statuses_))},"
            f" late failures {len(late)}"
        )
        checks.check(
            healthy and not late,
            f"healthy within {RECOVERY_TARGET:.0f} s of PostgreSQL silence {number} ending",
        )
    during = [
        s
        for s in samples
        if outcome.redis_silence[0] < s.started and s.started + s.seconds < outcome.redis_silence[1]
    ]
    slowest_redis = max((s.seconds for s in during), default=0.0)
    print(
        f"  while Redis was silent: {statuses(during)}, slowest {slowest_redis * 1000:.0f} ms;"
        f" restore-password {outcome.restore_status} in {outcome.restore_seconds:.1f} s"
    )
    checks.check(
        bool(during) and all(s.status == 200 for s in during),
        "reads answered while Redis was silent",
    )
    checks.check(
        slowest_redis < REDIS_SILENT_READ_SECONDS,
        f"reads stayed under {REDIS_SILENT_READ_SECONDS:.0f} s while Redis was silent",
    )
    checks.check(
        outcome.restore_status == 202, "the password reset was accepted during the silence"
    )
    checks.check(outcome.ready_after == 200, "/health/ready 200 after the Redis silence")
    checks.check(mails_delivered == 1, "the reset mail arrived once, worker not restarted")
    checks.check(alive, "API and worker processes ran throughout")
    checks.verdict()


if __name__ == "__main__":
    main()
