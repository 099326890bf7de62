"""Scheduled jobs: two schedulers on one database queue each tick once; ticks missed while
none ran are queued once; a new job waits for its first tick. The clock is the test's."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.services.queue import BaseTask, queued
from app.core.services.scheduler import ScheduledJob, Scheduler, scheduled
from tests.queue import drain_queue

ticks: list[str] = []


@queued
class RecordTick(BaseTask):
    __task_name__ = "tests.scheduler.record_tick"

    async def run(self, **data: Any) -> None:
        ticks.append(str(data["tick"]))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def nightly() -> dict[str, ScheduledJob]:
    ticks.clear()
    return {RecordTick.__task_name__: ScheduledJob(RecordTick.__task_name__, cron="0 3 * * *")}


async def test_two_schedulers_queue_a_due_tick_once(
    db: AsyncSession, nightly: dict[str, ScheduledJob]
) -> None:
    clock = Clock(at(1, 2, 59))
    first, second = Scheduler(nightly, clock), Scheduler(nightly, clock)
    assert [*await first.run_due(), *await second.run_due()] == []  # seen, not yet due

    clock.now = at(1, 3, 0, 20)
    due = [*await first.run_due(), *await second.run_due()]
    clock.now = at(1, 3, 0, 50)
    again = [*await second.run_due(), *await first.run_due()]
    clock.now = at(2, 3, 0, 5)
    next_day = [*await second.run_due(), *await first.run_due()]
    await drain_queue()

    assert due == [RecordTick.__task_name__]
    assert again == []
    assert next_day == [RecordTick.__task_name__]
    assert ticks == ["2026-03-01T03:00:00+00:00", "2026-03-02T03:00:00+00:00"]


async def test_ticks_missed_while_none_ran_are_queued_once(
    db: AsyncSession, nightly: dict[str, ScheduledJob]
) -> None:
    clock = Clock(at(1, 2, 0))
    await Scheduler(nightly, clock).run_due()
    clock.now = at(1, 3, 1)
    await Scheduler(nightly, clock).run_due()

    clock.now = at(5, 4, 30)  # three nightly ticks later, two schedulers start again
    restarted = [
        *await Scheduler(nightly, clock).run_due(),
        *await Scheduler(nightly, clock).run_due(),
    ]
    await drain_queue()

    assert restarted == [RecordTick.__task_name__]
    assert ticks == ["2026-03-01T03:00:00+00:00", "2026-03-05T03:00:00+00:00"]


async def test_a_new_job_waits_for_its_first_tick(
    db: AsyncSession, nightly: dict[str, ScheduledJob]
) -> None:
    clock = Clock(at(1, 3, 30))  # today's tick passed before the job existed
    scheduler = Scheduler(nightly, clock)
    first_look = await scheduler.run_due()
    clock.now = at(1, 23, 59)
    evening = await scheduler.run_due()
    clock.now = at(2, 3, 0)
    night = await scheduler.run_due()
    await drain_queue()

    assert (first_look, evening, night) == ([], [], [RecordTick.__task_name__])


async def test_an_interval_job_runs_once_per_interval(db: AsyncSession) -> None:
    ticks.clear()
    jobs = {
        RecordTick.__task_name__: ScheduledJob(
            RecordTick.__task_name__, every=timedelta(seconds=10)
        )
    }
    clock = Clock(at(1, 12, 0, 1))
    first, second = Scheduler(jobs, clock), Scheduler(jobs, clock)
    runs = []
    for second_of_minute in (1, 4, 9, 10, 12, 19, 25, 31):
        clock.now = at(1, 12, 0, second_of_minute)
        runs += [*await first.run_due(), *await second.run_due()]
    await drain_queue()

    assert len(runs) == 3  # at :10, :20 (seen at :25) and :30
    assert ticks == [f"2026-03-01T12:00:{second}+00:00" for second in ("10", "20", "30")]


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"cron": "0 3 * * *", "every": timedelta(hours=1)},
        {"cron": "every night"},
        {"cron": "61 * * * *"},
        {"cron": "0 3 * * * *"},
        {"cron": "0 3 32 * *"},
        {"every": timedelta(milliseconds=10)},
    ],
)
def test_a_schedule_needs_one_valid_cron_or_interval(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"cron|interval"):
        scheduled(**arguments)
