"""The queue through a Redis outage: the API side keeps pushed tasks until Redis answers, the
worker side waits and carries on, also when Redis comes back without its data."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs
from taskiq import AckableMessage
from taskiq.exceptions import SendTaskError

from app.core.configs import app_config
from app.core.services.queue import (
    BaseTask,
    ReclaimingRedisStreamBroker,
    TaskiqQueueService,
    create_broker,
)
from tests.outage import RedisRelay

pytestmark = pytest.mark.skipif(not app_config.REDIS_URL, reason="needs Redis")


class Note(BaseTask):
    __task_name__ = "tests.note"

    async def run(self, **data: Any) -> None:
        """Never run here: the tests read what reached the stream."""


@pytest.fixture
async def relay() -> AsyncIterator[RedisRelay]:
    relay = await RedisRelay(app_config.REDIS_URL).start()
    yield relay
    await relay.cut()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(app_config.REDIS_URL)
    yield client
    await client.aclose()


def stream_broker(relay: RedisRelay, queue_name: str) -> ReclaimingRedisStreamBroker:
    config = app_config.model_copy(
        update={"REDIS_URL": relay.url, "QUEUE_NAME": queue_name, "REDIS_TIMEOUT": 0.5}
    )
    broker = create_broker(config)
    assert isinstance(broker, ReclaimingRedisStreamBroker)
    broker.register_task(note, task_name=Note.__task_name__)
    return broker


async def note(**data: Any) -> None:
    """The registered body of ``Note``."""


async def stream_kwargs(redis: Redis, queue_name: str) -> list[dict[str, Any]]:
    entries = await redis.xrange(queue_name)
    return [json.loads(fields[b"data"])["kwargs"] for _, fields in entries]


async def wait_until(condition: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_tasks_pushed_during_an_outage_are_sent_in_order_once_redis_answers(
    relay: RedisRelay, redis: Redis
) -> None:
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    broker = stream_broker(relay, queue_name)
    await broker.startup()
    service = TaskiqQueueService(broker)
    try:
        await service.push(Note, {"n": 1})
        await relay.cut()
        for n in (2, 3):
            await service.push(Note, {"n": n})
        assert service.spooled == 2
        await relay.start()
        await service.push(Note, {"n": 4})  # behind the spooled ones, not before them

        async def all_sent() -> bool:
            return len(await stream_kwargs(redis, queue_name)) == 4

        await wait_until(all_sent)
        assert await stream_kwargs(redis, queue_name) == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
        assert service.spooled == 0
    finally:
        await service.close()
        await broker.shutdown()
        await redis.delete(queue_name)


async def test_closing_during_an_outage_logs_the_tasks_lost(relay: RedisRelay) -> None:
    broker = stream_broker(relay, f"test-outage-{uuid.uuid4().hex[:8]}")
    service = TaskiqQueueService(broker)
    await relay.cut()
    await service.push(Note, {"n": 1})

    with capture_logs() as logs:
        await service.close(wait_seconds=0.2)
    await broker.shutdown()

    [lost] = [log for log in logs if log["event"].startswith("queue unreachable at shutdown")]
    assert lost["count"] == 1


async def test_a_full_spool_drops_the_oldest_task(relay: RedisRelay) -> None:
    broker = stream_broker(relay, f"test-outage-{uuid.uuid4().hex[:8]}")
    service = TaskiqQueueService(broker, spool_size=2)
    await relay.cut()
    with capture_logs() as logs:
        for n in range(3):
            await service.push(Note, {"n": n})

    assert [data for _, data in service._spool] == [{"n": 1}, {"n": 2}]
    assert any(log["event"].startswith("task spool full") for log in logs)
    await service.close(wait_seconds=0)
    await broker.shutdown()


async def test_worker_waits_for_redis_at_start_up(relay: RedisRelay, redis: Redis) -> None:
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    broker = stream_broker(relay, queue_name)
    broker.is_worker_process = True
    await relay.cut()
    starting = asyncio.create_task(broker.startup())
    await asyncio.sleep(0.5)
    assert not starting.done()

    await relay.start()
    await asyncio.wait_for(starting, timeout=10)
    assert await redis.xinfo_groups(queue_name)
    await broker.shutdown()
    await redis.delete(queue_name)


async def test_worker_rides_out_an_outage_and_redis_restarting_empty(
    relay: RedisRelay, redis: Redis
) -> None:
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    broker = stream_broker(relay, queue_name)
    broker.is_worker_process = True
    await broker.startup()
    received: asyncio.Queue[AckableMessage] = asyncio.Queue()

    async def consume() -> None:
        async for message in broker.listen():
            await received.put(message)

    consumer = asyncio.create_task(consume())
    try:
        await asyncio.sleep(0.2)
        await relay.cut()
        await redis.delete(queue_name)  # Redis came back without its data: no stream, no group
        await asyncio.sleep(0.5)
        assert not consumer.done()

        await relay.start()
        await redis.xadd(queue_name, {b"data": b"pushed while the group was gone"})
        message = await asyncio.wait_for(received.get(), timeout=15)
        assert message.data == b"pushed while the group was gone"

        await relay.cut()
        with capture_logs() as logs:
            await message.ack()  # Redis down: logged, not raised
        assert any(log["event"].startswith("task done but not acknowledged") for log in logs)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await broker.shutdown()
        await redis.delete(queue_name)


async def test_a_task_that_cannot_be_serialized_raises_instead_of_waiting(
    relay: RedisRelay,
) -> None:
    broker = stream_broker(relay, f"test-outage-{uuid.uuid4().hex[:8]}")
    await broker.startup()
    service = TaskiqQueueService(broker)

    with pytest.raises(SendTaskError):
        await service.push(Note, {"when": object()})

    assert service.spooled == 0
    await service.close()
    await broker.shutdown()
