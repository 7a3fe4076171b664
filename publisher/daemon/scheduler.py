"""The only home of APScheduler: triggers from schedules.yaml and the running scheduler.

``parse_schedules`` and ``load_schedules`` here are the ones to call: they hand the model
(``core/schedules.py``) ``trigger_for``, which checks every ``cron:`` and makes the triggers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from publisher.core import schedules as model
from publisher.core.schedules import Schedules, Timing

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expr: str, tz: tzinfo) -> BaseTrigger:
    """A five-field crontab expression, read in ``tz``; raises ValueError when invalid."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron needs 5 fields (minute hour day month weekday): {expr!r}")
    minute, hour, day, month, dow = fields
    # APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0: translate to
    # names, or "1-5" would silently mean Tuesday to Saturday.
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(dow),
        timezone=tz,
    )


def _crontab_weekdays(spec: str) -> str:
    if not any(ch.isdigit() for ch in spec):
        return spec  # "*" or names: same meaning in both
    days: set[int] = set()
    for item in spec.split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            lo, hi = 0, 6
        elif "-" in body:
            lo_text, hi_text = body.split("-", 1)
            lo, hi = _weekday_number(lo_text), _weekday_number(hi_text, upper=True)
        else:
            lo = hi = _weekday_number(body, upper=True)
            if step_text:
                hi = 6
        if lo > hi or step < 1:
            raise ValueError(f"bad weekday range {item!r}")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_number(text: str, *, upper: bool = False) -> int:
    if text.isdigit():
        n = int(text)
        if not 0 <= n <= 7:
            raise ValueError(f"weekday {n} out of range 0-7")
        return n
    name = text.lower()[:3]
    if name not in _CRON_DAYS:
        raise ValueError(f"unknown weekday {text!r}")
    n = _CRON_DAYS.index(name)
    return 7 if upper and n == 0 else n


def daily_trigger(
    hour: int, minute: int, tz: tzinfo, day_of_week: str | None = None
) -> BaseTrigger:
    kwargs: dict[str, Any] = {"hour": hour, "minute": minute, "timezone": tz}
    if day_of_week is not None:
        kwargs["day_of_week"] = day_of_week
    return CronTrigger(**kwargs)


# `every:` counts from here, not from start-up: a reload or restart never shifts the fire
# times, and they match selection.latest_due, which plans the run that is due at each of them.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def interval_trigger(every: timedelta, tz: tzinfo) -> BaseTrigger:
    """Fires at every multiple of ``every`` since the Unix epoch (``1h``: on the hour, UTC)."""
    return IntervalTrigger(seconds=int(every.total_seconds()), start_date=EPOCH, timezone=tz)


def next_fire_times(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``: a table for tests and status."""
    times: list[datetime] = []
    prev: datetime | None = None
    now = after
    for _ in range(count * 4 + 4):  # bounded: a trigger may return ``after`` itself first
        fire = trigger.get_next_fire_time(prev, now)
        if fire is None or len(times) == count:
            break
        if fire > after:
            times.append(fire)
        prev = fire
        now = fire + timedelta(microseconds=1)
    return times


def trigger_for(timing: Timing, tz: tzinfo) -> BaseTrigger:
    """The trigger of one ``cron`` / ``every`` / ``at`` / ``weekly`` timing, read in ``tz``."""
    if timing.cron is not None:
        return cron_trigger(timing.cron, tz)
    if timing.every_span is not None:
        return interval_trigger(timing.every_span, tz)
    if timing.at is not None:
        hh, mm = timing.at.split(":")
        return daily_trigger(int(hh), int(mm), tz)
    assert timing.weekly is not None
    hh, mm = timing.weekly.at.split(":")
    return daily_trigger(int(hh), int(mm), tz, day_of_week=timing.weekly.day)


def parse_schedules(text: str, *, source: str = "schedules.yaml") -> Schedules:
    """schedules.yaml text → Schedules, every ``cron:`` checked, every timing's trigger bound."""
    return model.parse_schedules(text, source=source, triggers=trigger_for)


def load_schedules(path: Path) -> Schedules:
    return model.load_schedules(path, triggers=trigger_for)


JobFunc = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One named job: what runs, when, and how late it may still run."""

    job_id: str
    func: JobFunc
    trigger: BaseTrigger
    misfire_grace: timedelta = timedelta(seconds=60)


def _one_at_a_time(func: JobFunc) -> JobFunc:
    """A job's function, shared by its scheduled runs and its run-now runs.

    APScheduler's ``max_instances`` counts per job id, and a run-now is a separate one-off job
    (so that it never touches the trigger's fire times): this keeps the two from overlapping.
    A request that arrives while a run is in progress makes one more run after it, so a chained
    feed build always sees what the collect before it stored. (A plain ``async def``:
    APScheduler awaits only what it sees as a coroutine function.)
    """
    state = {"running": False, "again": False}

    async def run() -> None:
        if state["running"]:
            state["again"] = True
            return
        state["running"] = state["again"] = True
        try:
            while state["again"]:
                state["again"] = False
                await func()
        finally:
            state["running"] = False

    return run


class Scheduler:
    """APScheduler's AsyncIOScheduler with the project's rules baked in.

    coalesce=True and max_instances=1 on every job: a busy loop or downtime never makes a
    job run twice at once or N times in a row. The digests' run keys still guarantee
    once-only; this only keeps the noise down.
    """

    def __init__(self, *, tz: tzinfo) -> None:
        self._sched = AsyncIOScheduler(timezone=tz)
        self._tz = tz
        self._funcs: dict[str, JobFunc] = {}

    def set_jobs(self, specs: list[JobSpec]) -> None:
        """Replace the whole job set (start-up and SIGHUP reload)."""
        wanted = {s.job_id for s in specs}
        for job in self._sched.get_jobs():
            if job.id.removesuffix(_NOW) not in wanted:
                job.remove()
        self._funcs = {s.job_id: _one_at_a_time(s.func) for s in specs}
        for spec in specs:
            self._sched.add_job(
                self._funcs[spec.job_id],
                spec.trigger,
                id=spec.job_id,
                name=spec.job_id,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(spec.misfire_grace.total_seconds()),
                replace_existing=True,
            )

    def start(self, *, paused: bool = False) -> None:
        self._sched.start(paused=paused)

    def pause(self) -> None:
        if self._sched.running:
            self._sched.pause()

    def resume(self) -> None:
        if self._sched.running:
            self._sched.resume()

    @property
    def running(self) -> bool:
        return bool(self._sched.running)

    @property
    def firing(self) -> bool:
        """Started and not paused: jobs fire when due."""
        return bool(self._sched.state == STATE_RUNNING)

    def shutdown(self) -> None:
        if self._sched.running:
            self._sched.shutdown(wait=False)

    def next_runs(self) -> dict[str, datetime | None]:
        return {
            job.id: job.next_run_time for job in self._sched.get_jobs() if not job.id.endswith(_NOW)
        }

    def run_soon(self, job_id: str) -> None:
        """Run a job once now (catch-up, collect → feeds), as a one-off job beside it.

        Never ``job.modify(next_run_time=now)``: an interval trigger counts its next fire from
        the previous one, so that would move an epoch-aligned ``every:`` grid to now + interval
        for good (and make every later digest run late, hence stale).
        """
        func = self._funcs.get(job_id)
        if func is None:
            return
        self._sched.add_job(
            func,
            DateTrigger(datetime.now(self._tz)),
            id=job_id + _NOW,
            name=job_id + _NOW,
            coalesce=True,
            max_instances=8,  # _one_at_a_time folds overlapping requests into one more run
            misfire_grace_time=None,  # a paused scheduler keeps it until it leads again
            replace_existing=True,
        )


_NOW = ":now"
