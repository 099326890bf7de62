"""Drill: a queue worker is killed with SIGKILL in the middle of sending a mail.

Two worker processes read the queue (``QUEUE_RECLAIM_AFTER_SECONDS=5``). A password reset
queues a mail; the SMTP server holds that mail's transfer unanswered, the drill finds the worker
process on the other end of that connection and kills it. Passes when another worker process
sends the mail after the reclaim delay, the mail is accepted exactly once, and delivering the
same task once more (as at-least-once delivery may) sends nothing: the message id is the
idempotency key.

Run: ``python -m bench.drills.worker_kill`` (PostgreSQL and Redis as in ``.test.env``; Linux,
it uses ``ss`` to find the worker).
"""

import os
import signal
import time
from typing import Any

import httpx
from redis import Redis

from bench.drills.common import Checks, MailSink, worker_command
from bench.harness import (
    LOGS,
    PASSWORD,
    kit_env,
    kit_server,
    production_hasher,
    running,
    seed_users,
)

RECLAIM_AFTER = 5
RECIPIENT = "user3@example.com"


def main() -> None:
    checks = Checks("worker kill")
    with MailSink() as sink:
        env = kit_env(
            "drill_worker",
            redis_db=12,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(sink.port),
            QUEUE_RECLAIM_AFTER_SECONDS=str(RECLAIM_AFTER),
        )
        seed_users(env["DATABASE_URL"], 10, production_hasher()._hash.hash(PASSWORD))
        redis = Redis.from_url(env["REDIS_URL"])
        redis.delete(env["QUEUE_NAME"])
        with (
            running(worker_command(2), env, LOGS / "drill_worker_workers.log"),
            kit_server(env, "drill_worker.log") as kit,
        ):
            time.sleep(3)  # both worker processes listening
            sink.hold_next = True
            response = httpx.post(
                f"{kit.base}/api/v1/auth/restore-password", json={"email": RECIPIENT}, timeout=30
            )
            checks.check(response.status_code == 202, f"reset asked for ({response.status_code})")
            deadline = time.monotonic() + 30
            while sink.holding is None and time.monotonic() < deadline:
                time.sleep(0.05)
            held = sink.holding
            if held is None:
                raise SystemExit("no worker started sending the mail within 30 s")
            victim = held.sender_pid
            if victim is None:
                raise SystemExit("no local process owns the connection of the held mail")
            # The task's entry, to deliver it once more at the end.
            entries: Any = redis.xrange(env["QUEUE_NAME"])
            task_fields = entries[-1][1]
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            print(f"  killed worker process {victim} while it was sending {held.message_id}")

            delivered = sink.wait_for(RECIPIENT, timeout=RECLAIM_AFTER + 30)
            sender = delivered[0].sender_pid if delivered else None
            if delivered:
                print(
                    f"  sent again {delivered[0].at - killed_at:.1f} s after the kill"
                    f" (reclaim after {RECLAIM_AFTER} s), by process {sender}"
                )
            checks.check(len(delivered) == 1, "the mail was sent after the kill")
            checks.check(
                bool(delivered) and delivered[0].message_id == held.message_id,
                "with the same message id",
            )
            checks.check(sender is not None and sender != victim, "by another worker process")
            checks.check(held in sink.abandoned, "the killed attempt was never accepted")

            # The same task delivered once more must not send the mail again.
            redis.xadd(env["QUEUE_NAME"], task_fields)
            time.sleep(RECLAIM_AFTER + 3)
            total = sink.accepted_for(RECIPIENT)
            print(f"  after delivering the same task again: {len(total)} mail(s) accepted")
            checks.check(len(total) == 1, "a repeated delivery sends nothing (idempotency key)")
    checks.verdict()


if __name__ == "__main__":
    main()
