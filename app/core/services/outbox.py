"""The transactional outbox: queued work written in the application's database, in the
transaction that caused it, and relayed to the broker once that transaction committed.

A row is relayed right after its commit (``relay_committed``, run by ``AppSession.commit``);
rows left behind (the broker was down, the process died before relaying) are relayed by
``sweep``, which the queue workers run every ``OUTBOX_SWEEP_SECONDS`` (the API process does too
in embedded mode). A row leaves the table once the broker accepted it. Relays lock the rows they
send (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite lets one writer in at a time), so two
processes never send the same row at the same time.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Index,
    Integer,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from app.core.db import BaseModel, database, utcnow
from app.core.db.counts import UNCOUNTED_TABLES, AppSession
from app.core.services.log import logger
from app.core.services.tracing import current_trace_labels

_PENDING_KEY = "outbox_pending"
_PENDING_KEYS: set[str] = set()


class OutboxMessage(BaseModel):
    """A task waiting to reach the broker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_send_after_id", "send_after", "id"),)

    # Rows come and go all day: a 64-bit id never runs out (SQLite's rowid already is).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    task_name: Mapped[str] = mapped_column(String(200))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Kept across sends: a copy that reaches the broker twice runs once (queue.first_delivery).
    task_id: Mapped[str] = mapped_column(String(32), unique=True)
    attempt: Mapped[int] = mapped_column(default=0)
    # Labels the task is sent with: the trace context of the code that queued it.
    labels: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # The sweeper's clock: a grace period after the commit, or a retry's delay.
    send_after: Mapped[datetime]


UNCOUNTED_TABLES.add(OutboxMessage.__tablename__)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the broker is handed for one row."""

    task_name: str
    arguments: Mapping[str, Any]
    task_id: str
    attempt: int
    labels: Mapping[str, str] = field(default_factory=dict)


# Sends one task; False when the broker is unreachable (the row stays for the sweeper).
Sender = Callable[[Envelope], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class OutboxState:
    depth: int
    oldest_seconds: float


class Outbox:
    """Writes rows in a caller's session and relays them with ``sender``; ``sessions`` opens
    the sweeper's sessions (the application's database by default)."""

    def __init__(
        self,
        *,
        grace_seconds: float = 5.0,
        batch_size: int = 100,
        sessions: Callable[[], AsyncSession] = database.session,
        lease_seconds: float | None = None,
    ) -> None:
        self._sender: Sender | None = None
        # Without a durable broker (tasks run in this process): a sent row stays, due again
        # after the lease, until ``done`` removes it; a process that dies mid-task loses none.
        self.lease_seconds = lease_seconds
        self._sessions = sessions
        self.grace_seconds = grace_seconds
        self.batch_size = batch_size
        self._broker_down_until = 0.0
        self._pending_key = f"{_PENDING_KEY}:{id(self)}"
        _PENDING_KEYS.add(self._pending_key)

    def use(self, sender: Sender) -> None:
        self._sender = sender

    def add(
        self,
        db: AsyncSession,
        task_name: str,
        arguments: Mapping[str, Any],
        *,
        delay: float = 0.0,
        attempt: int = 0,
        task_id: str | None = None,
        relay: bool = True,
    ) -> str:
        """Write a row in ``db``'s transaction; its task id. A row is sent right after the
        commit (unless the broker failed moments ago), or by the sweeper once due: when it has
        a ``delay``, or ``relay`` is false."""
        task_id = task_id or uuid.uuid4().hex
        wait = delay if delay > 0 else self.grace_seconds
        db.add(
            OutboxMessage(
                task_name=task_name,
                arguments=dict(arguments),
                task_id=task_id,
                attempt=attempt,
                labels=current_trace_labels() or None,
                send_after=utcnow() + timedelta(seconds=wait),
            )
        )
        if relay and delay <= 0:
            db.sync_session.info.setdefault(self._pending_key, []).append(task_id)
        return task_id

    async def send_now(self, task_name: str, arguments: Mapping[str, Any], task_id: str) -> bool:
        """Hand a task to the broker without a row, for a push outside any transaction; False
        (write a row with this ``task_id`` then) when the broker is, or was moments ago, down,
        or when rows are leased (the broker keeps nothing)."""
        sender = self._require_sender()
        if self.lease_seconds is not None or time.monotonic() < self._broker_down_until:
            return False
        if await sender(Envelope(task_name, arguments, task_id, 0, current_trace_labels())):
            return True
        self._broker_down_until = time.monotonic() + self.grace_seconds
        return False

    async def relay_committed(self, db: AppSession) -> None:
        """Send the rows ``db`` just committed, unless the broker failed moments ago (then the
        sweeper will). Called by ``AppSession.commit``."""
        pending: list[str] = db.sync_session.info.pop(self._pending_key, [])
        if not pending or time.monotonic() < self._broker_down_until:
            return
        await self._relay(db, OutboxMessage.task_id.in_(pending))

    async def sweep(self) -> int:
        """Relay every row due, in batches; how many were sent."""
        total = 0
        while True:
            async with self._sessions() as db:
                sent = await self._relay(db, OutboxMessage.send_after <= utcnow())
            total += sent
            if sent < self.batch_size:
                return total

    async def _relay(self, db: AsyncSession, condition: ColumnElement[bool]) -> int:
        sender = self._require_sender()
        rows: Sequence[OutboxMessage] = (
            (
                await db.execute(
                    select(OutboxMessage)
                    .where(condition)
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if self.lease_seconds is not None:
            return await self._relay_leased(db, rows, self.lease_seconds, sender)
        sent: list[int] = []
        dropped: list[int] = []
        try:
            for row in rows:  # in order; the first that cannot be sent stops the batch
                accepted = await _offer(sender, _envelope(row))
                if accepted is None:
                    dropped.append(row.id)
                    continue
                if not accepted:
                    self._broker_down_until = time.monotonic() + self.grace_seconds
                    break
                sent.append(row.id)
        finally:
            # Sent rows leave the table; a crash before this commit sends them again later,
            # and their task id makes the second copy a no-op.
            if sent or dropped:
                await db.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(sent + dropped)))
            await db.commit()
        return len(sent)

    async def _relay_leased(
        self, db: AsyncSession, rows: Sequence[OutboxMessage], lease: float, sender: Sender
    ) -> int:
        """Claim the rows for ``lease`` seconds and commit, then send them: the tasks run in
        this process, with no lock held, and remove their rows when done."""
        envelopes = [_envelope(row) for row in rows]
        if rows:
            await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(send_after=utcnow() + timedelta(seconds=lease))
            )
        await db.commit()
        sent = 0
        for envelope in envelopes:
            accepted = await _offer(sender, envelope)
            if accepted is None:
                await self.done(envelope.task_id)
                continue
            if not accepted:  # claimed still: sent again when the lease ends
                break
            sent += 1
        return sent

    def _require_sender(self) -> Sender:
        if self._sender is None:
            raise RuntimeError("The outbox has no sender; the queue module sets it")
        return self._sender

    async def done(self, task_id: str) -> None:
        """A task sent under a lease finished (or failed for good): its row goes."""
        if self.lease_seconds is None:
            return
        async with self._sessions() as db:
            await db.execute(delete(OutboxMessage).where(OutboxMessage.task_id == task_id))
            await db.commit()

    async def state(self) -> OutboxState:
        """How many rows wait, and how long ago the oldest one due was written."""
        now = utcnow()
        async with self._sessions() as db:
            depth, oldest = (
                await db.execute(
                    select(
                        func.count(),
                        func.min(OutboxMessage.created_at).filter(OutboxMessage.send_after <= now),
                    ).select_from(OutboxMessage)
                )
            ).one()
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        return OutboxState(depth=int(depth), oldest_seconds=max(age, 0.0))


def _envelope(row: OutboxMessage) -> Envelope:
    return Envelope(row.task_name, row.arguments, row.task_id, row.attempt, row.labels or {})


async def _offer(sender: Sender, envelope: Envelope) -> bool | None:
    """True: the broker took it; False: it refused (down); None: no process knows the task
    (renamed or removed since it was queued), so the row is dropped, not retried forever."""
    try:
        return await sender(envelope)
    except LookupError:
        await logger.a_error(
            "outbox row of an unknown task dropped",
            task=envelope.task_name,
            task_id=envelope.task_id,
        )
        return None


async def sweep_forever(outbox: Outbox, interval: float) -> None:
    """The sweeper's loop: relay what is due every ``interval`` seconds, whatever fails."""
    while True:
        try:
            sent = await outbox.sweep()
            if sent:
                await logger.a_info("outbox rows relayed by the sweeper", count=sent)
        except Exception as error:
            await logger.a_warning("outbox sweep failed", error=type(error).__name__)
        await asyncio.sleep(interval)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        for key in _PENDING_KEYS:
            session.info.pop(key, None)
