"""Run queued tasks during tests: inline on the embedded broker; in real mode through the real
Redis stream, consumed by an in-process taskiq receiver while ``drain_queue`` waits.

Tasks run only while a test waits for them, never beside the test's own queries, and one at a
time: the test and the code under test share one database connection.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from taskiq import InMemoryBroker
from taskiq.receiver import Receiver

from app.core.services.queue import ReclaimingRedisStreamBroker, broker


@asynccontextmanager
async def running_receiver() -> AsyncIterator[None]:
    """Consume the Redis stream in this process while the block runs (no-op when embedded)."""
    if isinstance(broker, InMemoryBroker):
        yield
        return
    finished = asyncio.Event()
    receiver = Receiver(broker, run_startup=False, max_async_tasks=1, wait_tasks_timeout=5)
    task = asyncio.create_task(receiver.listen(finished))
    try:
        yield
    finally:
        finished.set()
        task.cancel()
        # Bounded: a receiver that does not end by then is left behind, not waited for.
        await asyncio.wait({task}, timeout=10)


async def _drained(redis: Redis, stream_broker: ReclaimingRedisStreamBroker) -> bool:
    if not await redis.exists(stream_broker.queue_name):
        return True
    stream = await redis.xinfo_stream(stream_broker.queue_name)
    groups = await redis.xinfo_groups(stream_broker.queue_name)
    group = next(g for g in groups if g["name"].decode() == stream_broker.consumer_group_name)
    return bool(group["pending"] == 0 and group["last-delivered-id"] == stream["last-generated-id"])


async def drain_queue(timeout: float = 30.0) -> None:
    """Run every pushed task to completion (acknowledged, on Redis)."""
    if isinstance(broker, InMemoryBroker):
        await broker.wait_all()
        return
    assert isinstance(broker, ReclaimingRedisStreamBroker)
    deadline = time.monotonic() + timeout
    async with Redis(connection_pool=broker.connection_pool) as redis:
        if await _drained(redis, broker):
            return
        async with running_receiver():
            while not await _drained(redis, broker):
                if time.monotonic() > deadline:
                    raise TimeoutError("queued tasks did not finish in time")
                await asyncio.sleep(0.02)
