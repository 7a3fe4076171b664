"""schedules.yaml: validation with key paths, and triggers as a table of fire times."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.daemon.scheduler import (
    JobSpec,
    Scheduler,
    load_schedules,
    next_fire_times,
    parse_schedules,
)

SEOUL = ZoneInfo("Asia/Seoul")
ROOT = Path(__file__).resolve().parents[2]


def test_shipped_schedules_file_is_valid() -> None:
    s = load_schedules(ROOT / "schedules.yaml")
    assert [d.id for d in s.digests] == ["morning", "weekly"]
    assert s.digest("morning").most_viewed.count == 5


def test_every_problem_is_reported_with_its_key_path() -> None:
    text = """
timezone: Mars/Olympus
digests:
  - {id: a, name: A, cron: "61 * * * *"}
  - {id: Bad!, name: B, every: 3x, typo: 1}
  - {id: c, name: C}
  - {id: d, name: D, at: "25:00", most_viewed: {count: 5, window: forever}}
jobs:
  feeds: {every: 5m, cron: "* * * * *"}
  colect: {every: 1m}
"""
    with pytest.raises(ValueError) as err:
        parse_schedules(text)
    lines = str(err.value).splitlines()
    expect = [
        "schedules.yaml: timezone: unknown timezone",
        "schedules.yaml: digests[0].cron:",
        "schedules.yaml: digests[1].id:",
        "schedules.yaml: digests[1].every: not a duration",
        "schedules.yaml: digests[1].typo: unknown key",
        "schedules.yaml: digests[2]: give exactly one of cron, every, at, weekly",
        "schedules.yaml: digests[3].at: must be HH:MM",
        "schedules.yaml: digests[3].most_viewed.window: not a duration",
        "schedules.yaml: jobs.feeds: give exactly one",
        "schedules.yaml: jobs.colect: unknown key",
    ]
    for prefix in expect:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)


def test_duplicate_digest_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate digest id 'a'"):
        parse_schedules(
            "digests:\n - {id: a, name: A, at: '07:00'}\n - {id: a, name: B, at: '08:00'}\n"
        )


@pytest.mark.parametrize(
    ("timing", "after", "expected"),
    [
        # cron in the site timezone: 07:00 Seoul is 22:00 UTC the day before.
        ({"cron": "0 7 * * *"}, datetime(2026, 11, 23, 7, 0, tzinfo=SEOUL),
         ["2026-11-24T07:00+09:00", "2026-11-25T07:00+09:00"]),
        ({"at": "07:00"}, datetime(2026, 11, 23, 6, 59, tzinfo=SEOUL),
         ["2026-11-23T07:00+09:00", "2026-11-24T07:00+09:00"]),
        ({"weekly": {"day": "mon", "at": "08:00"}}, datetime(2026, 11, 23, 9, 0, tzinfo=SEOUL),
         ["2026-11-30T08:00+09:00", "2026-12-07T08:00+09:00"]),
        ({"cron": "0 7 * * 1-5"}, datetime(2026, 11, 27, 8, 0, tzinfo=SEOUL),  # a Friday
         ["2026-11-30T07:00+09:00", "2026-12-01T07:00+09:00"]),
    ],
)  # fmt: skip
def test_trigger_fire_times(
    timing: dict[str, object], after: datetime, expected: list[str]
) -> None:
    doc = {"id": "x", "name": "X", **timing}
    import yaml

    s = parse_schedules(yaml.safe_dump({"digests": [doc]}))
    trigger = s.digests[0].trigger(s.tz)
    got = [
        t.astimezone(SEOUL).isoformat(timespec="minutes")
        for t in next_fire_times(trigger, after, 2)
    ]
    assert got == expected


def test_interval_job_fires_every_period() -> None:
    s = parse_schedules("jobs:\n  collect: {every: 10s}\n")
    trigger = s.jobs.collect.trigger(s.tz)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=SEOUL)
    times = next_fire_times(trigger, start, 3)
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [10, 10]


# 10:07:24 in Seoul = 01:07:24 UTC: between the fire times of every interval below.
ODD_NOW = datetime(2026, 11, 23, 10, 7, 24, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("2m", ["2026-11-23T10:08:00+09:00", "2026-11-23T10:10:00+09:00"]),
        # 7 minutes does not divide an hour: 00:08 UTC is a multiple of 420 s since the epoch,
        # so the fire times are 01:04, 01:11, 01:18 UTC, not 01:07:24 + 7 m.
        ("7m", ["2026-11-23T10:11:00+09:00", "2026-11-23T10:18:00+09:00"]),
        ("1h", ["2026-11-23T11:00:00+09:00", "2026-11-23T12:00:00+09:00"]),
        # A day since the epoch ends at midnight UTC, 09:00 in Seoul, whatever the timezone.
        ("1d", ["2026-11-24T09:00:00+09:00", "2026-11-25T09:00:00+09:00"]),
    ],
)
def test_every_fires_on_multiples_of_the_interval_since_the_epoch(
    every: str, expected: list[str]
) -> None:
    """Not at start-up + N x interval: a digest `every: 1h` goes out on the hour."""
    s = parse_schedules(f"digests:\n - {{id: x, name: X, every: {every}}}\n")
    times = next_fire_times(s.digests[0].trigger(s.tz), ODD_NOW, 2)
    assert [t.astimezone(SEOUL).isoformat() for t in times] == expected


def test_scheduled_every_jobs_stay_aligned_after_a_reload() -> None:
    """What the daemon logs as "next run", at start-up and after SIGHUP (set_jobs again)."""
    step = timedelta(minutes=7)

    async def noop() -> None:
        return None

    async def next_runs_at_start_and_reload() -> list[datetime | None]:
        sched = Scheduler(tz=SEOUL)
        s = parse_schedules("jobs:\n  feeds: {every: 7m}\n")
        spec = JobSpec("feeds", noop, s.jobs.feeds.trigger(s.tz))
        sched.set_jobs([spec])
        sched.start(paused=True)
        try:
            first = sched.next_runs()["feeds"]
            sched.set_jobs([JobSpec("feeds", noop, s.jobs.feeds.trigger(s.tz))])
            return [first, sched.next_runs()["feeds"]]
        finally:
            sched.shutdown()

    before = datetime.now(UTC)
    runs = asyncio.run(next_runs_at_start_and_reload())
    for run in runs:
        assert run is not None
        assert run.timestamp() % step.total_seconds() == 0, run
        assert before <= run <= datetime.now(UTC) + step


@pytest.mark.parametrize(
    ("dow", "weekdays"),
    [("1-5", {0, 1, 2, 3, 4}), ("0", {6}), ("7", {6}), ("0,6", {5, 6}), ("*/2", {6, 1, 3, 5}),
     ("sat-sun", {5, 6}), ("5-7", {4, 5, 6})],
)  # fmt: skip
def test_cron_weekdays_mean_what_crontab_means(dow: str, weekdays: set[int]) -> None:
    """Python weekday(): Monday = 0. crontab: Sunday = 0 or 7."""
    s = parse_schedules(f'digests:\n - {{id: x, name: X, cron: "0 7 * * {dow}"}}\n')
    start = datetime(2026, 11, 22, 12, 0, tzinfo=SEOUL)
    fired = next_fire_times(s.digests[0].trigger(s.tz), start, 14)
    assert {t.weekday() for t in fired} == weekdays
