"""`every:` digests keep their epoch grid through any start or leader takeover.

The catch-up used to move the schedule (``job.modify(next_run_time=now)``: an interval trigger
then fires at now + interval for good), so a daemon started at :30 with ``every: 1m`` and
``stale_after: 20s`` recorded every run stale. Now the catch-up is a one-off run beside the
schedule, and only of a slot that is still fresh.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from publisher.core.schedules import Digest
from publisher.core.timeparse import parse_duration
from publisher.daemon.jobtable import catch_up_due
from publisher.daemon.scheduler import (
    JobSpec,
    Scheduler,
    interval_trigger,
    next_fire_times,
    trigger_for,
)
from publisher.digests.selection import plan_run

SEOUL = ZoneInfo("Asia/Seoul")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _digest(every: str, stale_after: str) -> Digest:
    return Digest(id="d", name="D", every=every, stale_after=stale_after, settle_minutes=0)


def _on_grid(at: datetime, every: timedelta) -> bool:
    return (at - EPOCH) % every == timedelta(0)


def test_a_run_now_never_moves_the_grid_of_an_every_job() -> None:
    """The real scheduler: after a catch-up run, each job's next fire is still on its grid."""
    everies = [timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)]

    async def scenario() -> dict[str, datetime | None]:
        ran: asyncio.Queue[str] = asyncio.Queue()
        sched = Scheduler(tz=SEOUL)
        specs = []
        for every in everies:

            async def job(name: str = f"every-{every}") -> None:
                await ran.put(name)

            specs.append(JobSpec(f"every-{every}", job, interval_trigger(every, SEOUL)))
        sched.set_jobs(specs)
        sched.start()
        for spec in specs:
            sched.run_soon(spec.job_id)
        got = {await asyncio.wait_for(ran.get(), 10) for _ in specs}
        assert got == {s.job_id for s in specs}
        runs = sched.next_runs()
        sched.shutdown()
        return runs

    runs = asyncio.run(scenario())
    assert set(runs) == {f"every-{e}" for e in everies}, "the one-off runs are gone"
    for every in everies:
        at = runs[f"every-{every}"]
        assert at is not None and _on_grid(at, every), (every, at)


# (every, stale_after, start time UTC, does the catch-up run)
TABLE = [
    ("1m", "20s", datetime(2026, 11, 23, 1, 0, 5, tzinfo=UTC), True),
    ("1m", "20s", datetime(2026, 11, 23, 1, 0, 20, tzinfo=UTC), True),
    ("1m", "20s", datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC), False),  # the case
    ("1m", "20s", datetime(2026, 11, 23, 1, 0, 59, tzinfo=UTC), False),
    ("1h", "6h", datetime(2026, 11, 23, 1, 59, 0, tzinfo=UTC), True),
    ("1d", "6h", datetime(2026, 11, 23, 0, 0, 1, tzinfo=UTC), True),  # a restart at 09:00 KST
    ("1d", "6h", datetime(2026, 11, 23, 5, 59, 0, tzinfo=UTC), True),
    ("1d", "6h", datetime(2026, 11, 23, 6, 1, 0, tzinfo=UTC), False),  # > 6 h after its time
    ("1d", "6h", datetime(2026, 11, 23, 23, 0, 0, tzinfo=UTC), False),
]


@pytest.mark.parametrize(("every", "stale_after", "start", "catches_up"), TABLE)
def test_started_at_any_time_no_run_is_stale(
    every: str, stale_after: str, start: datetime, catches_up: bool
) -> None:
    digest = _digest(every, stale_after)
    due = catch_up_due(digest, tz=SEOUL, now=start)
    assert (due is not None) == catches_up
    runs: list[datetime] = [start] if due is not None else []
    # Then the schedule's own fires, from the trigger as the scheduler builds it at start.
    runs += next_fire_times(trigger_for(digest, SEOUL), start, 5)
    last_end: datetime | None = None
    step = parse_duration(every)
    for at in runs:
        plan = plan_run(digest, tz=SEOUL, now=at, last_end=last_end)
        assert plan.action == "run", (at, plan)  # never "stale"
        assert plan.window is not None
        last_end = plan.window.end
    for at in runs[1 if catches_up else 0 :]:
        assert _on_grid(at, step), at
