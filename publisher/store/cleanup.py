"""Housekeeping queries for the cleanup job: each is safe to run at any time, repeatedly."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, select

from publisher.store import pending
from publisher.store.pageviews import add_view_counts
from publisher.store.schema import subscribers, view_buckets


def purge_pending_subscribers(conn: Connection, *, before: datetime) -> int:
    """Unconfirmed sign-ups older than ``before`` are forgotten (their consent never came).

    Imported pending rows go only once they were asked to confirm before ``before``: a list
    nobody has asked yet is kept, however old.
    """
    q = delete(subscribers).where(pending.expired(before))
    return int(conn.execute(q).rowcount or 0)


def rollup_views(conn: Connection, *, before: datetime) -> int:
    """Fold hourly buckets older than ``before`` into one bucket per article and UTC day.

    The total per article and day is unchanged, so long windows (7d, 30d) still add up; only
    the hour of old views is lost. Returns how many hourly rows were folded.
    """
    if conn.dialect.name == "postgresql":
        not_midnight = func.extract("hour", view_buckets.c.hour) != 0
    else:
        not_midnight = func.strftime("%H", view_buckets.c.hour) != "00"
    old = and_(view_buckets.c.hour < before, not_midnight)
    rows = conn.execute(
        select(view_buckets.c.article_id, view_buckets.c.hour, view_buckets.c.count).where(old)
    ).all()
    if not rows:
        return 0
    daily: dict[tuple[int, datetime], int] = {}
    for article_id, hour, count in rows:
        day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
        daily[(article_id, day)] = daily.get((article_id, day), 0) + int(count)
    conn.execute(delete(view_buckets).where(old))
    add_view_counts(conn, daily)
    return len(rows)
