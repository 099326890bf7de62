"""The queue through a Redis outage: queued tasks wait in the outbox until Redis answers, the
worker side waits and carries on, also when Redis comes back without its data."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs
from taskiq import AckableMessage

from app.core.configs import app_config
from app.core.db.counts import AppSession
from app.core.services.outbox import Outbox
from app.core.services.queue import (
    BaseTask,
    ReclaimingRedisStreamBroker,
    broker_sender,
    create_broker,
)
from scripts.fault_proxy import FaultProxy, Mode

pytestmark = pytest.mark.skipif(not app_config.REDIS_URL, reason="needs Redis")


class Note(BaseTask):
    __task_name__ = "tests.note"

    async def run(self, **data: Any) -> None:
        """Never run here: the tests read what reached the stream."""


@pytest.fixture
async def relay() -> AsyncIterator[FaultProxy]:
    relay = await FaultProxy.for_url(app_config.REDIS_URL).start()
    yield relay
    await relay.stop()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(app_config.REDIS_URL)
    yield client
    await client.aclose()


def stream_broker(relay: FaultProxy, queue_name: str) -> ReclaimingRedisStreamBroker:
    config = app_config.model_copy(
        update={
            "REDIS_URL": relay.url(app_config.REDIS_URL),
            "QUEUE_NAME": queue_name,
            "REDIS_TIMEOUT": 0.5,
        }
    )
    broker = create_broker(config)
    assert isinstance(broker, ReclaimingRedisStreamBroker)
    broker.register_task(note, task_name=Note.__task_name__)
    return broker


async def note(**data: Any) -> None:
    """The registered body of ``Note``."""


async def acknowledge(message: AckableMessage) -> None:
    acknowledged = message.ack()
    if acknowledged is not None:
        await acknowledged


async def stream_kwargs(redis: Redis, queue_name: str) -> list[dict[str, Any]]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(queue_name)  # type: ignore[assignment]
    return [json.loads(fields[b"data"])["kwargs"] for _, fields in entries]


async def wait_until(condition: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


@asynccontextmanager
async def relaying(
    relay: FaultProxy, redis: Redis, send_timeout: float = 2.0
) -> AsyncIterator[tuple[Outbox, str]]:
    """An outbox relaying through ``relay`` to a stream of its own: (outbox, stream)."""
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    broker = stream_broker(relay, queue_name)
    await broker.startup()
    box = Outbox(grace_seconds=0.2)
    box.use(broker_sender(broker, send_timeout))
    try:
        yield box, queue_name
    finally:
        await broker.shutdown()
        await redis.delete(queue_name)


async def queue_notes(box: Outbox, db: AppSession, *numbers: int) -> None:
    """Queue ``Note``s in ``db``'s transaction and relay them as a commit would."""
    for n in numbers:
        box.add(db, Note.__task_name__, {"n": n})
    await db.flush()
    await box.relay_committed(db)


async def test_tasks_queued_during_an_outage_reach_the_stream_in_order_once_redis_answers(
    relay: FaultProxy, redis: Redis, db: AppSession
) -> None:
    async with relaying(relay, redis) as (box, queue_name):
        await queue_notes(box, db, 1)
        await relay.down()
        await queue_notes(box, db, 2, 3)
        assert (await box.state()).depth == 2
        await relay.resume()
        await asyncio.sleep(0.3)  # past the grace period

        assert await box.sweep() == 2
        assert await stream_kwargs(redis, queue_name) == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert (await box.state()).depth == 0


async def test_a_silent_redis_holds_a_commit_at_most_the_send_timeout_then_rows_wait(
    relay: FaultProxy, redis: Redis, db: AppSession
) -> None:
    async with relaying(relay, redis, send_timeout=0.5) as (box, queue_name):
        relay.set_mode(Mode.BLACKHOLE)
        started = asyncio.get_running_loop().time()
        await queue_notes(box, db, 1)
        await queue_notes(box, db, 2)  # Redis failed moments ago: not tried again inline
        assert asyncio.get_running_loop().time() - started < 1.5
        assert (await box.state()).depth == 2
        relay.set_mode(Mode.PASS)
        await asyncio.sleep(0.3)

        await box.sweep()
        # The timed-out send may still reach Redis once the network lets it through: at least
        # once, as the queue promises, never lost (the worker runs one of the two copies).
        assert await stream_kwargs(redis, queue_name) in (
            [{"n": 1}, {"n": 2}],
            [{"n": 1}, {"n": 1}, {"n": 2}],
        )


async def test_worker_waits_for_redis_at_start_up(relay: FaultProxy, redis: Redis) -> None:
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    broker = stream_broker(relay, queue_name)
    broker.is_worker_process = True
    await relay.down()
    starting = asyncio.create_task(broker.startup())
    await asyncio.sleep(0.5)
    assert not starting.done()

    await relay.resume()
    await asyncio.wait_for(starting, timeout=10)
    assert await redis.xinfo_groups(queue_name)
    await broker.shutdown()
    await redis.delete(queue_name)


@asynccontextmanager
async def listening_worker(
    relay: FaultProxy, redis: Redis, queue_name: str
) -> AsyncIterator[asyncio.Queue[AckableMessage]]:
    """A worker-side broker reading ``queue_name`` through ``relay``: the messages it yields.
    It must still be listening when the block ends."""
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
        yield received
        assert not consumer.done()
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await broker.shutdown()
        await redis.delete(queue_name)


async def test_worker_rides_out_an_outage_and_redis_restarting_empty(
    relay: FaultProxy, redis: Redis
) -> None:
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    async with listening_worker(relay, redis, queue_name) as received:
        await relay.down()
        await redis.delete(queue_name)  # Redis came back without its data: no stream, no group
        await asyncio.sleep(0.5)

        await relay.resume()
        await redis.xadd(queue_name, {b"data": b"pushed while the group was gone"})
        message = await asyncio.wait_for(received.get(), timeout=15)
        assert message.data == b"pushed while the group was gone"

        await relay.down()
        with capture_logs() as logs:
            await acknowledge(message)  # Redis down: logged, not raised
        assert any(log["event"].startswith("task done but not acknowledged") for log in logs)
        await relay.resume()


@pytest.mark.parametrize("fault", ["blackhole", "reset"])
async def test_a_worker_reconnects_by_itself_after_redis_went_silent_or_reset(
    relay: FaultProxy, redis: Redis, fault: str
) -> None:
    queue_name = f"test-outage-{uuid.uuid4().hex[:8]}"
    async with listening_worker(relay, redis, queue_name) as received:
        with capture_logs() as logs:
            if fault == "reset":
                relay.reset()
            else:
                relay.set_mode(Mode.BLACKHOLE)
                await asyncio.sleep(3)  # longer than a read may block plus its timeout
            relay.set_mode(Mode.PASS)
            await redis.xadd(queue_name, {b"data": b"after the fault"})
            message = await asyncio.wait_for(received.get(), timeout=15)
            await acknowledge(message)
        assert message.data == b"after the fault"
        events = [log["event"] for log in logs]
        if fault == "blackhole":
            assert "Redis unavailable; reconnecting" in events
            assert "Redis answering again; reading tasks" in events
        pending = await redis.xpending(queue_name, f"{queue_name}-workers")
        assert pending["pending"] == 0
