"""Run queued tasks during tests: inline on the embedded broker; in real mode from the real
Redis stream, read and run one at a time by ``drain_queue`` in the test's own coroutine.

Tasks run only while a test waits for them, never beside the test's own queries, and one at a
time: the test and the code under test share one database connection. The test process is the
stream's only reader, so a delivery left unacknowledged (a test that failed mid-task) is taken
over at once instead of after ``QUEUE_RECLAIM_AFTER_SECONDS``.
"""

import time
import uuid
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker
from taskiq.receiver import Receiver

from app.core.services.queue import ReclaimingRedisStreamBroker, broker

READ_BLOCK_MS = 50


async def _drained(redis: Redis, stream_broker: ReclaimingRedisStreamBroker) -> bool:
    if not await redis.exists(stream_broker.queue_name):
        return True
    stream = await redis.xinfo_stream(stream_broker.queue_name)
    groups = await redis.xinfo_groups(stream_broker.queue_name)
    group = next(g for g in groups if g["name"].decode() == stream_broker.consumer_group_name)
    return bool(group["pending"] == 0 and group["last-delivered-id"] == stream["last-generated-id"])


async def _next_delivery(
    redis: Redis, stream_broker: ReclaimingRedisStreamBroker
) -> tuple[Any, dict[bytes, bytes]] | None:
    """One delivery: a stranded one first (any idle time), else a new one."""
    name, group = stream_broker.queue_name, stream_broker.consumer_group_name
    _, claimed, *_ = await redis.xautoclaim(
        name, group, stream_broker.consumer_name, min_idle_time=0, count=1
    )
    for message_id, fields in claimed:
        if fields:
            return message_id, fields
        await redis.xack(name, group, message_id)  # deleted from the stream meanwhile
    fetched: Any = await redis.xreadgroup(
        group, stream_broker.consumer_name, {name: ">"}, count=1, block=READ_BLOCK_MS
    )
    for _, messages in fetched or []:
        for message_id, fields in messages:
            return message_id, fields
    return None


async def drain_queue(timeout: float = 30.0) -> None:
    """Run every pushed task to completion (acknowledged, on Redis), including the tasks those
    tasks push."""
    if isinstance(broker, InMemoryBroker):
        await broker.wait_all()
        return
    assert isinstance(broker, ReclaimingRedisStreamBroker)
    receiver = Receiver(broker, run_startup=False, max_async_tasks=1)
    deadline = time.monotonic() + timeout
    async with Redis(connection_pool=broker.connection_pool) as redis:
        while not await _drained(redis, broker):
            if time.monotonic() > deadline:
                raise TimeoutError("queued tasks did not finish in time")
            delivery = await _next_delivery(redis, broker)
            if delivery is not None:
                message_id, fields = delivery
                message = broker._ackable(broker.queue_name, message_id, fields)
                await receiver.callback(message=message)


async def push_mail(broker: AsyncBroker, subject: str) -> None:
    """Queue one mail on ``broker`` straight to Redis, as another process would."""
    kicker: AsyncKicker[Any, Any] = AsyncKicker(
        task_name="core.mail.send", broker=broker, labels={}
    )
    await kicker.kiq(
        subject=subject,
        recipient="worker@example.com",
        html="<p>from a worker</p>",
        text="from a worker",
        message_id=f"<{uuid.uuid4().hex}@example.com>",
    )
