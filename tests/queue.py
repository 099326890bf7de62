"""Run queued tasks during tests: in-process on the embedded broker, through a real Redis
stream and an in-process taskiq receiver in real mode."""

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
    receiver = Receiver(broker, run_startup=False, max_async_tasks=20)
    task = asyncio.create_task(receiver.listen(finished))
    try:
        yield
    finally:
        finished.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def drain_queue(timeout: float = 20.0) -> None:
    """Wait until every pushed task has finished (acknowledged, on Redis)."""
    if isinstance(broker, InMemoryBroker):
        await broker.wait_all()
        return
    assert isinstance(broker, ReclaimingRedisStreamBroker)
    deadline = time.monotonic() + timeout
    async with Redis(connection_pool=broker.connection_pool) as redis:
        while time.monotonic() < deadline:
            groups = await redis.xinfo_groups(broker.queue_name)
            group = next(g for g in groups if g["name"].decode() == broker.consumer_group_name)
            if group["pending"] == 0 and not group.get("lag"):
                return
            await asyncio.sleep(0.02)
    raise TimeoutError("queued tasks did not finish in time")
