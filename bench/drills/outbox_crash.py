"""Drill: the API process is killed while Redis is down, with mail queued.

Redis is stopped; a user registers (a welcome mail, through a durable listener) and another
asks for a password reset (a reset mail, through a queued task); both answer at once, their
tasks waiting in the outbox table. The API process then gets SIGKILL. Redis is started again
with a fresh API process and a queue worker, whose sweeper finds the rows the dead process
left. Passes when both mails arrive, once each.

Run as a user allowed to stop the local Redis: ``python -m bench.drills.outbox_crash``. It stops
the machine's Redis for a few seconds, whatever else uses it.
"""

import os
import signal
import time

import httpx

from bench.drills.common import Checks, MailSink, restored, service, wait_ready, worker_command
from bench.harness import (
    LOGS,
    PASSWORD,
    kit_env,
    kit_server,
    production_hasher,
    running,
    seed_users,
)

MAIL_TIMEOUT = 30.0
NEWCOMER = "outbox-newcomer@example.com"
FORGETFUL = "user3@example.com"


def main() -> None:
    checks = Checks("outbox crash")
    with MailSink() as sink, restored("redis"):
        env = kit_env(
            "drill_outbox",
            redis_db=11,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(sink.port),
            OUTBOX_RELAY_AFTER_SECONDS="2",
        )
        seed_users(env["DATABASE_URL"], 10, production_hasher()._hash.hash(PASSWORD))
        with kit_server(env, "drill_outbox.log") as kit:
            service("redis_stop")
            with httpx.Client(base_url=kit.base, timeout=30) as client:
                started = time.monotonic()
                register = client.post(
                    "/api/v1/auth/register",
                    json={"email": NEWCOMER, "username": "outbox_newcomer", "password": PASSWORD},
                )
                restore = client.post("/api/v1/auth/restore-password", json={"email": FORGETFUL})
                answered = time.monotonic() - started
            os.kill(kit.pid, signal.SIGKILL)
            kit.process.wait()
        print(
            f"  register, restore-password with Redis down: {register.status_code}, "
            f"{restore.status_code} in {answered:.1f} s; API process killed"
        )
        checks.check(
            (register.status_code, restore.status_code) == (201, 202),
            "both requests accepted while Redis was down",
        )

        service("redis_start")
        up = wait_ready("redis")
        with (
            running(worker_command(), env, LOGS / "drill_outbox_worker.log"),
            kit_server(env, "drill_outbox_again.log"),
        ):
            sink.wait_for(NEWCOMER, timeout=MAIL_TIMEOUT)
            sink.wait_for(FORGETFUL, timeout=MAIL_TIMEOUT)
            time.sleep(3)  # a duplicate would arrive meanwhile
            welcome, reset = sink.accepted_for(NEWCOMER), sink.accepted_for(FORGETFUL)

    for name, mails in (("welcome", welcome), ("reset", reset)):
        delay = f"{mails[0].at - up:.1f} s after Redis was back" if mails else "never"
        print(f"  {name} mail: {len(mails)} delivered, {delay}")
        checks.check(len(mails) == 1, f"the {name} mail of the killed process arrived once")
    checks.verdict()


if __name__ == "__main__":
    main()
