"""The outbox: a queued task leaves with the transaction that queued it, never before it, never
without it, and is not lost while the broker is away or when its relay dies."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pydantic
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from app.core.configs import app_config
from app.core.db import create_engine, utcnow
from app.core.db.counts import AppSession
from app.core.deps import unit_of_work
from app.core.services.events import BaseEvent, DeliverEvent, FastAPIEventsService, listener
from app.core.services.outbox import Envelope, Outbox, OutboxMessage
from app.core.services.queue import (
    BaseTask,
    OutboxQueueService,
    outbox,
    queue_service,
    queued,
)
from tests.core.routes import queued_numbers
from tests.queue import drain_queue

ran: list[dict[str, Any]] = []


@queued
class Record(BaseTask):
    __task_name__ = "tests.outbox.record"

    async def run(self, **data: Any) -> None:
        ran.append(data)


@queued
class FailOnce(BaseTask):
    __task_name__ = "tests.outbox.fail_once"
    retry_delay = 30.0

    async def run(self, **data: Any) -> None:
        raise RuntimeError("not yet")


@queued
class Slow(BaseTask):
    __task_name__ = "tests.outbox.slow"
    max_retries = 3
    retry_delay = 0.1

    async def run(self, **data: Any) -> None:
        await asyncio.sleep(30)


class ParcelShipped(BaseEvent):
    __event_name__ = "tests.parcel_shipped"

    parcel_id: int
    name: str


heard: list[ParcelShipped] = []


@listener(ParcelShipped, durable=True)
async def remember_parcel(event: ParcelShipped) -> None:
    heard.append(event)


@pytest.fixture(autouse=True)
def forget() -> None:
    ran.clear()
    heard.clear()


async def rows(db: AsyncSession) -> list[OutboxMessage]:
    return list((await db.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_a_task_pushed_in_a_rolled_back_transaction_never_runs(db: AppSession) -> None:
    async with unit_of_work() as uow:
        await uow.db.execute(select(1))  # a transaction is open
        await uow.queue.push(Record, {"n": 1})
        # the block ends without a commit: rolled back

    await drain_queue()
    assert ran == []
    assert await rows(db) == []


async def test_a_task_pushed_in_a_transaction_leaves_only_when_it_commits(
    db: AppSession,
) -> None:
    async with unit_of_work() as uow:
        await uow.db.execute(select(1))
        await uow.queue.push(Record, {"n": 2})
        await uow.db.flush()
        await drain_queue()
        assert ran == []  # nothing reached the broker yet
        assert [row.task_name for row in await rows(uow.db)] == [Record.__task_name__]

        await uow.db.commit()

    await drain_queue()
    assert ran == [{"n": 2}]
    assert await rows(db) == []  # relayed at once, and removed


async def test_a_request_queues_in_its_transaction(client: httpx.AsyncClient) -> None:
    queued_numbers.clear()

    kept = await client.post("/test/queue/2")
    dropped = await client.post("/test/queue/3")  # raises after the push: rolled back
    await drain_queue()

    assert (kept.status_code, dropped.status_code) == (201, 404)
    assert queued_numbers == [2]


async def test_a_push_outside_a_transaction_commits_its_own_row_and_sends_it(
    db: AppSession,
) -> None:
    await queue_service.push(Record, {"n": 3})

    await drain_queue()
    assert ran == [{"n": 3}]
    assert await rows(db) == []


class RecordData(pydantic.BaseModel):
    n: int
    when: date


async def test_a_task_is_queued_by_its_registered_name_with_a_typed_payload(
    db: AppSession,
) -> None:
    await queue_service.push(Record.__task_name__, RecordData(n=1, when=date(2026, 1, 2)))

    await drain_queue()
    assert ran == [{"n": 1, "when": "2026-01-02"}]


async def test_what_cannot_be_stored_is_refused_in_the_caller(db: AppSession) -> None:
    with pytest.raises(TypeError):
        await queue_service.push(Record, {"when": object()})
    with pytest.raises(LookupError, match="not registered"):
        await queue_service.push("tests.outbox.nothing", {})
    assert await rows(db) == []


async def test_rows_a_dead_relay_left_are_swept_in_order_and_only_when_due(
    db: AppSession,
) -> None:
    past, future = utcnow() - timedelta(seconds=1), utcnow() + timedelta(hours=1)
    for n, send_after in ((1, past), (2, past), (3, future)):
        db.add(
            OutboxMessage(
                task_name=Record.__task_name__,
                arguments={"n": n},
                task_id=uuid.uuid4().hex,
                send_after=send_after,
            )
        )
    await db.flush()

    assert await outbox.sweep() == 2
    await drain_queue()

    assert ran == [{"n": 1}, {"n": 2}]
    assert [row.arguments for row in await rows(db)] == [{"n": 3}]  # not due yet


async def test_a_row_of_an_unknown_task_is_dropped_with_an_error_not_retried_forever(
    db: AppSession,
) -> None:
    db.add(
        OutboxMessage(
            task_name="tests.outbox.renamed",
            arguments={},
            task_id=uuid.uuid4().hex,
            send_after=utcnow() - timedelta(seconds=1),
        )
    )
    await db.flush()

    with capture_logs() as logs:
        await outbox.sweep()

    assert await rows(db) == []
    assert any(log["event"] == "outbox row of an unknown task dropped" for log in logs)


async def test_a_broker_that_is_down_keeps_rows_until_it_answers(db: AppSession) -> None:
    sent: list[int] = []
    broker_up = False

    async def sender(envelope: Envelope) -> bool:
        if broker_up:
            sent.append(envelope.arguments["n"])
        return broker_up

    box = Outbox(grace_seconds=0.2)
    box.use(sender)
    for n in (1, 2, 3):
        box.add(db, Record.__task_name__, {"n": n})
        await db.flush()
        await box.relay_committed(db)  # what AppSession.commit runs, for this outbox

    assert sent == []
    assert (await box.state()).depth == 3
    broker_up = True
    await box.relay_committed(db)  # nothing pending: the sweeper's job now
    await asyncio.sleep(0.3)
    assert await box.sweep() == 3
    assert sent == [1, 2, 3]
    assert await rows(db) == []


async def test_a_push_outside_a_transaction_goes_to_the_table_only_when_the_broker_fails(
    db: AppSession,
) -> None:
    attempts: list[Envelope] = []
    broker_up = True

    async def sender(envelope: Envelope) -> bool:
        attempts.append(envelope)
        return broker_up

    box = Outbox(grace_seconds=0.2)
    box.use(sender)
    service = OutboxQueueService(box)

    await service.push(Record, {"n": 1})  # sent at once, no row
    assert await rows(db) == []
    broker_up = False
    await service.push(Record, {"n": 2})  # refused: kept, under the id it was tried with
    await service.push(Record, {"n": 3})  # the broker failed moments ago: not tried again
    [first, second] = await rows(db)

    assert [envelope.arguments for envelope in attempts] == [{"n": 1}, {"n": 2}]
    assert (first.arguments, first.task_id) == ({"n": 2}, attempts[1].task_id)
    assert second.arguments == {"n": 3}
    broker_up = True
    await asyncio.sleep(0.3)
    assert await box.sweep() == 2
    assert await rows(db) == []


async def test_without_a_durable_broker_a_row_stays_until_its_task_is_done(
    db: AppSession,
) -> None:
    """Embedded mode: tasks run in the process, so a process that dies mid-task must find
    them again after a restart."""
    sent: list[str] = []

    async def sender(envelope: Envelope) -> bool:
        sent.append(envelope.task_id)  # started, then the process "dies": no done()
        return True

    box = Outbox(grace_seconds=0.1, lease_seconds=0.3)
    box.use(sender)
    task_id = box.add(db, Record.__task_name__, {"n": 1})
    await db.flush()
    await box.relay_committed(db)

    assert sent == [task_id]
    assert await box.sweep() == 0  # claimed for the lease
    await asyncio.sleep(0.4)
    assert await box.sweep() == 1  # the lease ran out: sent again
    assert sent == [task_id, task_id]
    await box.done(task_id)
    assert await rows(db) == []


async def test_a_long_retry_goes_back_to_the_queue_instead_of_sleeping(db: AppSession) -> None:
    started = asyncio.get_running_loop().time()

    await FailOnce().execute({"n": 4})

    assert asyncio.get_running_loop().time() - started < 2
    [row] = await rows(db)
    assert (row.task_name, row.arguments, row.attempt) == (FailOnce.__task_name__, {"n": 4}, 1)
    assert row.send_after > utcnow() + timedelta(seconds=25)


async def test_a_delivery_never_outlives_the_reclaim_window(
    db: AppSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_config, "QUEUE_RECLAIM_AFTER_SECONDS", 2)
    started = asyncio.get_running_loop().time()

    await Slow().execute({})

    # Attempts cut to 80 % of the window; the retry that would not fit is queued.
    assert asyncio.get_running_loop().time() - started < 2
    [row] = await rows(db)
    assert row.attempt == 1


async def test_a_durable_listener_is_queued_with_the_transaction(db: AppSession) -> None:
    events = FastAPIEventsService(db)
    await db.execute(select(1))
    events.dispatch(ParcelShipped(parcel_id=5, name="durable"))

    [row] = await rows(db)
    assert row.task_name == DeliverEvent.__task_name__
    assert heard == []
    await db.commit()
    await drain_queue()

    assert heard == [ParcelShipped(parcel_id=5, name="durable")]  # the typed event


async def test_a_durable_listener_of_a_rolled_back_transaction_never_runs(
    db: AppSession,
) -> None:
    async with unit_of_work() as uow:
        await uow.db.execute(select(1))
        uow.events.dispatch(ParcelShipped(parcel_id=6, name="dropped"))

    await drain_queue()
    assert heard == []
    assert await rows(db) == []


@pytest.fixture
async def separate_sessions() -> AsyncIterator[async_sessionmaker[AppSession]]:
    """Sessions on connections of their own, outside the test's transaction."""
    engine = create_engine(app_config)
    sessions = async_sessionmaker(engine, class_=AppSession, expire_on_commit=False)
    yield sessions
    async with sessions() as db:
        await db.execute(delete(OutboxMessage).where(OutboxMessage.task_name == "tests.race"))
        await db.commit()
    await engine.dispose()


async def test_two_relays_never_send_the_same_row(
    separate_sessions: async_sessionmaker[AppSession],
) -> None:
    async with separate_sessions() as db:
        for n in range(40):
            db.add(
                OutboxMessage(
                    task_name="tests.race",
                    arguments={"n": n},
                    task_id=uuid.uuid4().hex,
                    send_after=utcnow() - timedelta(seconds=1),
                )
            )
        await db.commit()
    sent: list[int] = []

    async def sender(envelope: Envelope) -> bool:
        await asyncio.sleep(0.005)  # a broker round trip: the other relay runs meanwhile
        sent.append(envelope.arguments["n"])
        return True

    relays = [Outbox(batch_size=5, sessions=separate_sessions) for _ in range(2)]
    for relay in relays:
        relay.use(sender)

    counts = await asyncio.gather(*(relay.sweep() for relay in relays))

    assert sorted(sent) == list(range(40))  # each row once
    assert sum(counts) == 40
    async with separate_sessions() as db:
        left = (
            await db.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.task_name == "tests.race")
            )
        ).scalar_one()
    assert left == 0
