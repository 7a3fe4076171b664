"""Daily counts for the console's dashboard, kept by a cheap incremental rollup.

The rollup recomputes only the days since its last run (from the start of the local day
before it), through indexes on the time columns; older days stay as they were counted, so
they survive the outbox purge. The dashboard reads this small table and never the outbox.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from publisher.store.consoleschema import daily_counts, rollup_marks
from publisher.store.outboxsql import FINAL, is_status
from publisher.store.schema import outbox, subscribers, suppressions

MARK = "daily"
Key = tuple[str, str, str]  # (day, metric, key)


def _hour(conn: Connection, column: Any) -> Any:
    """The column's UTC hour as text "YYYY-MM-DD HH" (both backends store naive UTC)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def _local_day(hour_text: str, tz: tzinfo) -> str:
    at = datetime.strptime(hour_text, "%Y-%m-%d %H").replace(tzinfo=UTC)
    return at.astimezone(tz).date().isoformat()


def _fold(
    conn: Connection, counts: Counter[Key], q: Any, tz: tzinfo, metric: str, key_of: Any
) -> None:
    for row in conn.execute(q):
        if row[0] is not None:
            counts[(_local_day(str(row[0]), tz), metric, key_of(row))] += int(row[-1])


def ended_queries(conn: Connection, since: datetime) -> list[Any]:
    """The ended rows since ``since`` (each counted once, on the day it ended) by hour, kind
    and status: one query per status, each a range (status, updated_at) of the ended rows'
    index. Not one ``status IN (…)`` query: PostgreSQL drops that term as implied by the
    index's predicate, and then the index has no range on its second column to offer."""
    h = _hour(conn, outbox.c.updated_at)
    return [
        select(h, outbox.c.kind, outbox.c.status, func.count())
        .where(is_status(status), outbox.c.updated_at >= since)
        .group_by(h, outbox.c.kind, outbox.c.status)
        for status in FINAL
    ]


def _gather(conn: Connection, since: datetime, tz: tzinfo) -> Counter[Key]:
    counts: Counter[Key] = Counter()
    for q in ended_queries(conn, since):
        _fold(conn, counts, q, tz, "messages", lambda r: f"{r[1]}:{r[2]}")
    for column, key in (
        (subscribers.c.confirmed_at, "confirmed"),
        (subscribers.c.unsubscribed_at, "unsubscribed"),
    ):
        h = _hour(conn, column)
        q = select(h, func.count()).where(column >= since).group_by(h)
        _fold(conn, counts, q, tz, "subscribers", lambda _r, k=key: k)
    h = _hour(conn, suppressions.c.created_at)
    q = (
        select(h, suppressions.c.reason, func.count())
        .where(suppressions.c.created_at >= since)
        .group_by(h, suppressions.c.reason)
    )
    _fold(conn, counts, q, tz, "suppressions", lambda r: str(r[1])[:64])
    return counts


def last_rollup(conn: Connection) -> datetime | None:
    q = select(rollup_marks.c.done_at).where(rollup_marks.c.name == MARK)
    value: datetime | None = conn.execute(q).scalar()
    return value


def rollup(conn: Connection, *, now: datetime, tz: tzinfo) -> int:
    """Recount the days since the last rollup (all days the first time); rows written."""
    last = last_rollup(conn)
    since: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    first_day = "0000-00-00"
    if last is not None:
        day = (last.astimezone(tz) - timedelta(days=1)).date()
        since = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        first_day = day.isoformat()
    counts = _gather(conn, since, tz)
    conn.execute(delete(daily_counts).where(daily_counts.c.day >= first_day))
    rows = [{"day": d, "metric": m, "key": k, "count": n} for (d, m, k), n in counts.items()]
    if rows:
        conn.execute(insert(daily_counts), rows)
    conn.execute(delete(rollup_marks).where(rollup_marks.c.name == MARK))
    conn.execute(insert(rollup_marks).values(name=MARK, done_at=now))
    return len(rows)


def series(conn: Connection, *, since: date) -> dict[str, dict[str, Counter[str]]]:
    """{metric: {day: {key: count}}} for the days from ``since``."""
    c = daily_counts.c
    q = select(c.day, c.metric, c.key, c.count).where(c.day >= since.isoformat())
    out: dict[str, dict[str, Counter[str]]] = {}
    for day, metric, key, n in conn.execute(q):
        out.setdefault(metric, {}).setdefault(day, Counter())[key] += int(n)
    return out
