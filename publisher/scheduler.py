"""The only home of APScheduler. For now: triggers, built and checked from schedules.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expr: str, tz: tzinfo) -> BaseTrigger:
    """A five-field crontab expression, read in ``tz``; raises ValueError when invalid."""
    if len(expr.split()) != 5:
        raise ValueError(f"cron needs 5 fields (minute hour day month weekday): {expr!r}")
    return CronTrigger.from_crontab(expr, timezone=tz)


def daily_trigger(
    hour: int, minute: int, tz: tzinfo, day_of_week: str | None = None
) -> BaseTrigger:
    kwargs: dict[str, Any] = {"hour": hour, "minute": minute, "timezone": tz}
    if day_of_week is not None:
        kwargs["day_of_week"] = day_of_week
    return CronTrigger(**kwargs)


def interval_trigger(every: timedelta, tz: tzinfo) -> BaseTrigger:
    return IntervalTrigger(seconds=int(every.total_seconds()), timezone=tz)


def next_fire_times(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``: a table for tests and status."""
    times: list[datetime] = []
    prev: datetime | None = None
    now = after
    for _ in range(count):
        fire = trigger.get_next_fire_time(prev, now)
        if fire is None:
            break
        if fire <= after:
            now = fire + timedelta(microseconds=1)
            prev = fire
            continue
        times.append(fire)
        prev = fire
        now = fire + timedelta(microseconds=1)
    return times
