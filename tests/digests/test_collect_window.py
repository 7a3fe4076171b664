"""The run window and catch-up logic as a table of times (Asia/Seoul has no DST)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.daemon.scheduler import parse_schedules
from publisher.digests.selection import chosen_sections, latest_due, plan_run

SEOUL = "Asia/Seoul"


def _digest(extra: str = "", timing: str = 'cron: "0 7 * * *"'):  # type: ignore[no-untyped-def]
    text = f"""
timezone: {SEOUL}
digests:
  - id: d
    name: D
    {timing}
    settle_minutes: 10
    first_window: 24h
{extra}"""
    s = parse_schedules(text)
    return s.digests[0], s.tz


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# 07:00 Seoul = 22:00 UTC the day before.
CASES = [
    # (now,                 last window end,        action,  start,               end)
    (utc(2026, 11, 23, 22, 0), None, "run", utc(2026, 11, 22, 21, 50), utc(2026, 11, 23, 21, 50)),
    (utc(2026, 11, 23, 22, 1), utc(2026, 11, 22, 21, 50), "run",
     utc(2026, 11, 22, 21, 50), utc(2026, 11, 23, 21, 50)),
    # A second fire of the same morning: same key, already done.
    (utc(2026, 11, 23, 22, 5), utc(2026, 11, 23, 21, 50), "done",
     utc(2026, 11, 23, 21, 50), utc(2026, 11, 23, 21, 50)),
    # Before 07:00 Seoul, the due time is yesterday's, already done.
    (utc(2026, 11, 23, 21, 59), utc(2026, 11, 22, 21, 50), "done",
     utc(2026, 11, 22, 21, 50), utc(2026, 11, 22, 21, 50)),
    # Down for three days, back at 09:00 Seoul: ONE catch-up covering all of it.
    (utc(2026, 11, 24, 0, 0), utc(2026, 11, 20, 21, 50), "run",
     utc(2026, 11, 20, 21, 50), utc(2026, 11, 23, 21, 50)),
    # Back at 14:00 Seoul (7 h late): stale, skipped instead of sending old news.
    (utc(2026, 11, 24, 5, 0), utc(2026, 11, 20, 21, 50), "stale",
     utc(2026, 11, 20, 21, 50), utc(2026, 11, 23, 21, 50)),
    # Exactly at the stale limit (6 h) still runs.
    (utc(2026, 11, 24, 4, 0), utc(2026, 11, 22, 21, 50), "run",
     utc(2026, 11, 22, 21, 50), utc(2026, 11, 23, 21, 50)),
]  # fmt: skip


@pytest.mark.parametrize(("now", "last", "action", "start", "end"), CASES)
def test_window_table(
    now: datetime, last: datetime | None, action: str, start: datetime, end: datetime
) -> None:
    digest, tz = _digest()
    plan = plan_run(digest, tz=tz, now=now, last_end=last)
    assert plan.action == action
    assert plan.window is not None
    assert (plan.window.start, plan.window.end) == (start, end)


def test_stale_after_is_configurable() -> None:
    digest, tz = _digest(timing='cron: "0 7 * * *"\n    stale_after: 12h')
    plan = plan_run(digest, tz=tz, now=utc(2026, 11, 24, 5, 0), last_end=None)
    assert plan.action == "run"


def test_weekly_and_every_and_at() -> None:
    weekly, tz = _digest(timing='weekly: {day: mon, at: "08:00"}')
    # Monday 08:00 Seoul = Sunday 23:00 UTC; on Wednesday the due time is still Monday's.
    assert latest_due(weekly, tz=tz, now=utc(2026, 11, 25, 3, 0)) == utc(2026, 11, 22, 23, 0)
    hourly, tz = _digest(timing="every: 1h")
    assert latest_due(hourly, tz=tz, now=utc(2026, 11, 23, 10, 59)) == utc(2026, 11, 23, 10, 0)
    daily, tz = _digest(timing='at: "18:30"')
    assert latest_due(daily, tz=tz, now=utc(2026, 11, 23, 9, 31)) == utc(2026, 11, 23, 9, 30)


def test_subscribers_in_other_timezones_follow_the_site_schedule() -> None:
    """A reader in New York or Berlin gets the Seoul 07:00 issue: one run key for all."""
    digest, tz = _digest()
    keys = set()
    for reader_tz in ("America/New_York", "Europe/Berlin", "Asia/Seoul"):
        from zoneinfo import ZoneInfo

        # The same instant, written in the reader's zone, plans the same window.
        now = utc(2026, 11, 23, 22, 0, 30).astimezone(ZoneInfo(reader_tz))
        plan = plan_run(digest, tz=tz, now=now, last_end=None)
        assert plan.window is not None
        keys.add((plan.window.digest_id, plan.window.end))
    assert keys == {("d", utc(2026, 11, 23, 21, 50))}


def test_first_run_uses_first_window() -> None:
    digest, tz = _digest()
    digest = digest.model_copy(update={"first_window": "3d"})
    plan = plan_run(digest, tz=tz, now=utc(2026, 11, 23, 22, 0), last_end=None)
    assert plan.window is not None
    assert plan.window.end - plan.window.start == timedelta(days=3)


def test_chosen_sections() -> None:
    digest, _ = _digest()
    known = ["politics", "economy", "sports"]
    assert chosen_sections((), digest, known) is None
    assert chosen_sections(("sports", "politics"), digest, known) == ("politics", "sports")
    assert chosen_sections(tuple(known), digest, known) is None  # everything = the all variant
    only, _ = _digest(timing='cron: "0 7 * * *"\n    sections: [economy, sports]')
    assert chosen_sections((), only, known) == ("economy", "sports")
    assert chosen_sections(("politics",), only, known) == ()


def test_selection_groups_caps_and_ranks() -> None:
    from publisher.core.models import RankedArticle, Section
    from publisher.digests.selection import select_for
    from tests.digestkit import article

    digest, _ = _digest()
    digest = digest.model_copy(update={"max_items": 3})
    base = utc(2026, 11, 23, 20, 0)
    arts = [
        article(1, "economy", published=base, id=1),
        article(2, "politics", published=base - timedelta(minutes=1), id=2),
        article(3, "politics", published=base + timedelta(minutes=5), id=3),
        article(4, "economy", published=base - timedelta(hours=3), id=4),  # oldest: over the cap
    ]
    order = [Section("politics", "정치", 1), Section("economy", "경제", 2)]
    ranked = [RankedArticle(rank=i + 1, article=a, views=100 - i) for i, a in enumerate(arts)]
    sel = select_for(sections=None, articles=arts, ranked=ranked, order=order, digest=digest)
    assert [(g.slug, [a.id for a in g.articles]) for g in sel.groups] == [
        ("politics", [3, 2]),
        ("economy", [1]),
    ]
    assert sel.dropped == 1
    assert [r.rank for r in sel.most_viewed] == [1, 2, 3, 4]
    mv = digest.most_viewed.model_copy(update={"exclude_listed": True})
    excl = digest.model_copy(update={"most_viewed": mv})
    sel = select_for(sections=None, articles=arts, ranked=ranked, order=order, digest=excl)
    assert [(r.rank, r.article.id) for r in sel.most_viewed] == [(1, 4)]
    only = select_for(
        sections=("economy",), articles=arts, ranked=ranked, order=order, digest=digest
    )
    assert [a.id for g in only.groups for a in g.articles] == [1, 4]
