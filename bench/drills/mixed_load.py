"""Drill: 500 concurrent connections on a mixed workload for 60 s.

Reads (health, profile, a users page, a user by id) and a write (``PATCH /profile``) from 500
keep-alive connections against one uvicorn worker in production mode. Passes with no transport
error, no response other than 200, and the server's memory steady over the second half of the
run. ``DRILL_CONNECTIONS`` and ``DRILL_SECONDS`` change the size.

Run: ``python -m bench.drills.mixed_load`` (PostgreSQL and Redis as in ``.test.env``).
"""

import asyncio
import json
import os
import random

from bench.drills.common import Checks, check_memory_steady, rss_sampler
from bench.harness import PASSWORD, kit_env, kit_server, login, production_hasher, seed_users
from bench.load import Request, generate, rotate, statuses, summarize

CONNECTIONS = int(os.environ.get("DRILL_CONNECTIONS", "500"))
SECONDS = float(os.environ.get("DRILL_SECONDS", "60"))
USERS = 1_000
SIGNED_IN = 20


def workload(base: str, tokens: list[str]) -> list[Request]:
    """Each signed-in user's share of the mix: mostly reads, one write in eight requests."""
    requests = []
    for number, token in enumerate(tokens, start=1):
        auth = {"Authorization": f"Bearer {token}"}
        rename = json.dumps({"username": f"user_{number}"}).encode()
        some_user = random.randint(1, USERS)
        requests += [
            Request("GET", f"{base}/health", name="health"),
            Request("GET", f"{base}/api/v1/profile", auth, name="profile"),
            Request(
                "GET", f"{base}/api/v1/users?page=1&per_page=20&sort=id:desc", auth, name="users"
            ),
            Request("GET", f"{base}/api/v1/users/{some_user}", auth, name="user"),
            Request("GET", f"{base}/api/v1/profile", auth, name="profile"),
            Request(
                "GET", f"{base}/api/v1/users?page=2&per_page=20&sort=username", auth, name="users"
            ),
            Request("GET", f"{base}/api/v1/users/{some_user}", auth, name="user"),
            Request(
                "PATCH",
                f"{base}/api/v1/profile",
                {**auth, "Content-Type": "application/json"},
                rename,
                name="patch_profile",
            ),
        ]
    return requests


def main() -> None:
    checks = Checks("mixed load")
    env = kit_env("drill_load", redis_db=12)
    seed_users(env["DATABASE_URL"], USERS, production_hasher()._hash.hash(PASSWORD))
    with kit_server(env, "drill_load.log") as kit:
        tokens = [login(kit.base, f"user_{n}")["access_token"] for n in range(1, SIGNED_IN + 1)]
        samples_rss, stop_sampling = rss_sampler(kit)
        print(f"{CONNECTIONS} connections for {SECONDS:.0f} s, server rss {kit.rss_mib():.0f} MiB")
        samples = asyncio.run(
            generate(
                rotate(workload(kit.base, tokens)),
                connections=CONNECTIONS,
                seconds=SECONDS,
                request_timeout=120,
            )
        )
        stop_sampling()

    summary = summarize(samples, SECONDS)
    by_status = statuses(samples)
    print(
        f"  {summary['requests']:.0f} requests, {summary['rps']:.0f}/s,"
        f" p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms,"
        f" slowest {max(sample.seconds for sample in samples) * 1000:.0f} ms; statuses {by_status}"
    )
    for name in sorted({sample.name for sample in samples}):
        part = [sample for sample in samples if sample.name == name]
        part_summary = summarize(part, SECONDS)
        print(f"    {name}: {len(part)} requests, p99 {part_summary['p99_ms']:.0f} ms")
    checks.check(summary["errors"] == 0, f"no transport errors ({summary['errors']:.0f})")
    server_errors = sum(1 for sample in samples if sample.status >= 500)
    checks.check(server_errors == 0, f"no 5xx ({server_errors})")
    checks.check(summary["non2xx"] == 0, f"every response 200 ({summary['non2xx']:.0f} others)")

    check_memory_steady(checks, samples_rss, "server")
    checks.verdict()


if __name__ == "__main__":
    main()
