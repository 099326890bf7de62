"""Real worker processes (``python -m app worker``) on a real Redis stream."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from app.core.configs import app_config
from app.core.services.queue import create_broker
from tests.mail import Mailbox, SMTPServer
from tests.queue import push_mail

pytestmark = pytest.mark.skipif(not app_config.REDIS_URL, reason="workers need Redis")

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def queue_name() -> str:
    return f"test-tasks-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def pusher(queue_name: str) -> AsyncIterator[AsyncBroker]:
    broker = create_broker(app_config.model_copy(update={"QUEUE_NAME": queue_name}))
    await broker.startup()
    yield broker
    await broker.shutdown()


@contextmanager
def worker_process(
    queue_name: str, smtp_port: int, reclaim_after: int = 60
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "QUEUE_NAME": queue_name,
        "QUEUE_RECLAIM_AFTER_SECONDS": str(reclaim_after),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "worker", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


async def test_worker_runs_a_pushed_task(
    queue_name: str, pusher: AsyncBroker, smtp_server: SMTPServer, mailbox: Mailbox
) -> None:
    with worker_process(queue_name, smtp_server.port):
        await push_mail(pusher, "Round trip")
        [message] = await mailbox.wait_for(1, timeout=30)
        assert await worker_health(queue_name) == 0

    assert message["Subject"] == "Round trip"
    assert await worker_health(queue_name) == 1


async def test_a_task_sent_twice_runs_once(
    queue_name: str, pusher: AsyncBroker, smtp_server: SMTPServer, mailbox: Mailbox
) -> None:
    """A send that timed out is sent again under the same task id; if the first copy reached
    Redis after all, the worker skips the second."""
    task_id = uuid.uuid4().hex
    message_ids = [f"<{uuid.uuid4().hex}@example.com>" for _ in range(2)]  # as rendered twice
    for message_id in message_ids:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(
            task_name="core.mail.send", broker=pusher, labels={}
        )
        await kicker.with_task_id(task_id).kiq(
            subject="Once",
            recipient="worker@example.com",
            html="<p>twice</p>",
            text="twice",
            message_id=message_id,
        )
    with worker_process(queue_name, smtp_server.port):
        [message] = await mailbox.wait_for(1, timeout=30)
        await asyncio.sleep(2)  # time for a second mail, were it sent

    assert len(mailbox.messages) == 1  # whichever copy started first
    assert message["Message-ID"] in message_ids


async def worker_health(queue_name: str) -> int:
    """Exit status of ``python -m app healthcheck worker`` for the workers of ``queue_name``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "healthcheck",
        "worker",
        cwd=ROOT,
        env={**os.environ, "QUEUE_NAME": queue_name},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


class StallingMailbox(Mailbox):
    """Holds the first delivery long enough for its worker to be killed, then refuses it."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.attempts += 1
        if self.attempts == 1:
            await asyncio.sleep(5)
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


async def test_task_of_a_killed_worker_runs_again_on_another_worker(
    queue_name: str, pusher: AsyncBroker
) -> None:
    mailbox = StallingMailbox()
    server = SMTPServer(mailbox=mailbox).start()
    try:
        with worker_process(queue_name, server.port, reclaim_after=1) as first:
            await push_mail(pusher, "Survives a crash")
            while mailbox.attempts == 0:
                await asyncio.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)  # mid-task: the mail is not sent yet
        with worker_process(queue_name, server.port, reclaim_after=1):
            messages: list[EmailMessage] = await mailbox.wait_for(1, timeout=30)
    finally:
        server.stop()

    assert [message["Subject"] for message in messages] == ["Survives a crash"]
