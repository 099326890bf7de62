"""Scheduled jobs: a ``@queued`` task that runs on a cron schedule or at a fixed interval.

::

    @scheduled(cron="0 3 * * *")       # every day at 03:00 UTC (pycron syntax)
    @queued
    class PurgeDrafts(BaseTask):
        __task_name__ = "blog.purge_drafts"
        async def run(self, **data: Any) -> None: ...

``python -m app scheduler`` (in the API process in embedded mode) checks the schedule every
``SCHEDULER_POLL_SECONDS``. A due tick is claimed in the database: one row per job holds the
last tick sent, and the claim and the task's outbox row are written in one transaction, so
however many schedulers run (for availability), each tick is queued once. A job that missed
ticks while nothing ran is queued once, for the latest tick, when a scheduler starts. A new
job waits for its first tick. Jobs are tasks: delivery is at least once, so make them
idempotent.
"""

import asyncio
import contextvars
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pycron
from sqlalchemy import String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import BaseModel, database, utcnow
from app.core.db.counts import UNCOUNTED_TABLES
from app.core.services.log import logger
from app.core.services.queue import BaseTask, queue_service

# How far back a cron schedule is searched for its latest tick (a year of minutes at most),
# and the longest search done on the event loop itself.
_CRON_LOOKBACK = timedelta(days=366)
_SEARCH_INLINE = timedelta(hours=1)


class ScheduledJobRun(BaseModel):
    """The last tick of a job that was queued (or, for a new job, when it was first seen)."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    last_tick: Mapped[datetime]


UNCOUNTED_TABLES.add(ScheduledJobRun.__tablename__)


@dataclass(frozen=True)
class ScheduledJob:
    """When ``task_name`` runs: a cron expression (minutes, UTC) or an interval."""

    task_name: str
    cron: str | None = None
    every: timedelta | None = None

    def latest_tick(self, now: datetime, after: datetime) -> datetime | None:
        """The last moment in (``after``, ``now``] the job was due, if any (cron schedules
        are searched a year back at most)."""
        if self.every is not None:
            step = self.every.total_seconds()
            tick = datetime.fromtimestamp(now.timestamp() // step * step, UTC)
            return tick if tick > after else None
        cron = self.cron or "* * * * *"
        minute = now.replace(second=0, microsecond=0)
        floor = max(after, now - _CRON_LOOKBACK)
        while minute > floor:
            if pycron.is_now(cron, minute):
                return minute
            minute -= timedelta(minutes=1)
        return None


schedule: dict[str, ScheduledJob] = {}
TaskT = TypeVar("TaskT", bound=type[BaseTask])


def scheduled(
    *, cron: str | None = None, every: timedelta | None = None
) -> Callable[[TaskT], TaskT]:
    """Run the decorated ``@queued`` task on a cron schedule (UTC) or every ``every``."""
    if (cron is None) == (every is None):
        raise ValueError("give a cron expression or an interval, not both")
    if every is not None and every < timedelta(seconds=1):
        raise ValueError("an interval is at least a second")
    if cron is not None and not _valid_cron(cron):
        raise ValueError(f"not a cron expression: {cron!r}")

    def register(task_cls: TaskT) -> TaskT:
        name = task_cls.__task_name__
        schedule[name] = ScheduledJob(name, cron=cron, every=every)
        return task_cls

    return register


# Each field of a cron expression: its numbers' bounds (minute, hour, day, month, weekday).
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_FIELD = re.compile(
    r"^(\*|[0-9a-z]+(-[0-9a-z]+)?)(/[0-9]+)?(,(\*|[0-9a-z]+(-[0-9a-z]+)?)(/[0-9]+)?)*$"
)


def _valid_cron(expression: str) -> bool:
    fields = expression.lower().split()
    if len(fields) != len(_CRON_BOUNDS):
        return False
    for field, (low, high) in zip(fields, _CRON_BOUNDS, strict=True):
        if not _CRON_FIELD.match(field):
            return False
        numbers = [int(number) for number in re.findall(r"(?<![/0-9])[0-9]+", field)]
        if any(not low <= number <= high for number in numbers):
            return False
    try:
        pycron.is_now(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except ValueError:
        return False
    return True


class Scheduler:
    """Queues the due ticks of ``jobs``; ``clock`` gives the time (tests freeze it)."""

    def __init__(
        self,
        jobs: dict[str, ScheduledJob] = schedule,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.jobs = jobs
        self.clock = clock
        # Per job, the time up to which its ticks were looked at (a pass looks at the rest).
        self._checked: dict[str, datetime] = {}

    async def run_due(self) -> list[str]:
        """Queue every job whose latest tick was not queued yet; the jobs this call queued."""
        now = self.clock()
        queued: list[str] = []
        for job in self.jobs.values():
            checked = self._checked.get(job.task_name)
            if checked is None:
                checked = await self._last_tick(job, now)
                if checked is None:  # a new job: its first tick is still to come
                    self._checked[job.task_name] = now
                    continue
            if job.cron is not None and now - checked > _SEARCH_INLINE:
                # A long gap (a restart): minutes are searched one by one, off the loop.
                tick = await asyncio.to_thread(job.latest_tick, now, checked)
            else:
                tick = job.latest_tick(now, checked)
            if tick is not None and await self._claim(job, tick):
                queued.append(job.task_name)
            self._checked[job.task_name] = now
        return queued

    async def _last_tick(self, job: ScheduledJob, now: datetime) -> datetime | None:
        """The job's last queued tick from the database; a new job is recorded as seen now."""
        async with database.session() as db:
            last = await db.scalar(
                select(ScheduledJobRun.last_tick).where(ScheduledJobRun.name == job.task_name)
            )
            if last is not None:
                return last
            db.add(ScheduledJobRun(name=job.task_name, last_tick=now))
            try:
                await db.commit()
            except IntegrityError:  # another scheduler saw it first
                await db.rollback()
        return None

    async def _claim(self, job: ScheduledJob, tick: datetime) -> bool:
        """Record ``tick`` as the job's last and queue the task, in one transaction; False when
        another scheduler did it first."""
        async with database.session() as db:
            claimed = await db.execute(
                update(ScheduledJobRun)
                .where(ScheduledJobRun.name == job.task_name, ScheduledJobRun.last_tick < tick)
                .values(last_tick=tick)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await db.rollback()
                return False
            await queue_service.bound(db).push(job.task_name, {"tick": tick.isoformat()})
            await db.commit()
        await logger.a_info("scheduled job queued", task=job.task_name, tick=tick.isoformat())
        return True


async def run_forever(scheduler: Scheduler, interval: float) -> None:
    """The scheduler's loop: queue what is due every ``interval`` seconds, whatever fails."""
    while True:
        try:
            await scheduler.run_due()
        except Exception as error:
            await logger.a_warning("scheduler pass failed", error=type(error).__name__)
        await asyncio.sleep(interval)


class _Running:
    task: asyncio.Task[None] | None = None


def start_scheduler(interval: float) -> None:
    """Run the schedule in this process, in the background (embedded mode)."""
    if _Running.task is None and schedule:
        _Running.task = asyncio.create_task(
            run_forever(Scheduler(), interval), context=contextvars.Context()
        )


async def stop_scheduler() -> None:
    task, _Running.task = _Running.task, None
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


__all__ = ["ScheduledJob", "Scheduler", "schedule", "scheduled"]
