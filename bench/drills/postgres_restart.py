"""Drill: PostgreSQL stops under load and comes back.

Authenticated reads run on 16 connections while ``/health/ready`` is polled; PostgreSQL is
stopped (fast shutdown) for ``DRILL_DOWN_SECONDS`` and started again. Passes when no response is
a 500, requests fail fast with 503 while the database is down, ``/health/ready`` names the
database, and everything answers 200 again within 5 s of PostgreSQL accepting connections, with
the same server process.

Run as a user allowed to stop the local PostgreSQL: ``python -m bench.drills.postgres_restart``.
It stops the machine's PostgreSQL for a few seconds, whatever else uses it.
"""

import asyncio
import os
import time

import httpx

from bench.drills.common import Checks, authenticated_reads, restored, service, wait_ready
from bench.harness import PASSWORD, kit_env, kit_server, login, production_hasher, seed_users
from bench.load import Sample, statuses

DOWN_SECONDS = float(os.environ.get("DRILL_DOWN_SECONDS", "5"))
RECOVERY_TARGET = 5.0
FAIL_FAST_MS = 1000


ReadyPoll = list[tuple[float, int, dict[str, str]]]


async def poll_ready(base: str, stop: asyncio.Event) -> ReadyPoll:
    seen: ReadyPoll = []
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            response = await client.get(f"{base}/health/ready")
            seen.append((time.monotonic(), response.status_code, response.json().get("checks", {})))
            await asyncio.sleep(0.25)
    return seen


async def drill(base: str, token: str) -> tuple[list[Sample], ReadyPoll, dict[str, float]]:
    stop = asyncio.Event()
    load = authenticated_reads(base, token, stop)
    ready = asyncio.create_task(poll_ready(base, stop))
    marks: dict[str, float] = {}
    await asyncio.sleep(3)
    marks["stop"] = time.monotonic()
    await asyncio.to_thread(service, "postgres_stop")
    marks["down"] = time.monotonic()
    await asyncio.sleep(DOWN_SECONDS)
    marks["start"] = time.monotonic()
    await asyncio.to_thread(service, "postgres_start")
    marks["up"] = await asyncio.to_thread(wait_ready, "postgres")
    await asyncio.sleep(10)
    stop.set()
    return await load, await ready, marks


def main() -> None:
    checks = Checks("postgres restart")
    env = kit_env("drill_pg", redis_db=12)
    seed_users(env["DATABASE_URL"], 100, production_hasher()._hash.hash(PASSWORD))
    with restored("postgres"), kit_server(env, "drill_postgres.log") as kit:
        token = login(kit.base, "user_1")["access_token"]
        samples, ready, marks = asyncio.run(drill(kit.base, token))
        still_running = kit.process.poll() is None

    t0 = marks["stop"]
    before = [s for s in samples if s.started + s.seconds < marks["stop"]]
    down = [
        s
        for s in samples
        if marks["down"] + 0.5 < s.started and s.started + s.seconds < marks["start"]
    ]
    after = [s for s in samples if s.started > marks["up"]]
    print(
        f"  stop took {marks['down'] - t0:.2f} s; down {marks['start'] - marks['down']:.1f} s;"
        f" accepting connections {marks['up'] - marks['start']:.2f} s after start"
    )
    stopping = [
        s for s in samples if s.started + s.seconds >= t0 and s.started <= marks["down"] + 0.5
    ]
    print(
        f"  before: {statuses(before)}; while stopping: {statuses(stopping)};"
        f" while down: {statuses(down)}; after: {statuses(after)}"
    )
    checks.check(all(s.status == 200 for s in before), "all 200 before the stop")
    checks.check(
        not any(s.status == 500 or s.status == 0 for s in samples), "no 500, no dropped connection"
    )
    checks.check(
        bool(down) and all(s.status == 503 for s in down), "503 while the database is down"
    )
    slowest = max((s.seconds * 1000 for s in down), default=0)
    print(f"  slowest answer while down: {slowest:.0f} ms")
    checks.check(slowest < FAIL_FAST_MS, f"failing fast while down (< {FAIL_FAST_MS} ms)")
    ready_down = [
        checks_ for at, code, checks_ in ready if marks["down"] + 0.5 < at < marks["start"]
    ]
    checks.check(
        bool(ready_down) and all(item.get("database") == "unavailable" for item in ready_down),
        "/health/ready reports the database while it is down",
    )
    failing_after_up = [s for s in after if s.status != 200]
    last_failure = max((s.started + s.seconds for s in failing_after_up), default=marks["up"])
    recovery = last_failure - marks["up"]
    print(
        f"  recovered {recovery:.2f} s after PostgreSQL accepted connections"
        f" ({len(failing_after_up)} failed meanwhile)"
    )
    checks.check(recovery <= RECOVERY_TARGET, f"recovered within {RECOVERY_TARGET:.0f} s")
    checks.check(bool(after) and after[-1].status == 200, "answering 200 at the end")
    checks.check(still_running, "same server process throughout")
    checks.verdict()


if __name__ == "__main__":
    main()
