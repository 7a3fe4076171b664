"""Light queries for the sitemaps (issue 17): a cheap change signature, per-month totals, and
the rows of one month streamed in published order (never every article at once).

Stamps are the database's own text of a time where that is cheaper (SQLite), else a datetime:
feeds/sitemaps.py turns either into a W3C datetime.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, func, select, type_coerce

from publisher.store.schema import articles
from publisher.store.syndicationschema import events

_ARTICLE_EVENTS = ("article.published", "article.updated", "article.retracted")
Stamp = str | datetime


def _month(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(articles.c.published_at, "YYYY-MM")
    return func.substr(type_coerce(articles.c.published_at, String), 1, 7)


def change_signature(conn: Connection) -> str:
    """Moves whenever an article is added, changed, retracted or restored (articles are never
    deleted): a new row (max id), a newer updated_at, or an article event (every write path
    records one, also for an update dated before the newest one).

    Each part is one index lookup (no count, no scan): a no-change build stays in
    milliseconds at a million articles."""
    top = conn.execute(select(func.max(articles.c.id))).scalar()
    newest = conn.execute(select(type_coerce(func.max(articles.c.updated_at), String))).scalar()
    return f"{newest}/{top}/{last_article_event(conn)}"


def month_totals(conn: Connection) -> dict[str, tuple[int, str]]:
    """'YYYY-MM' (UTC) → (published articles, newest updated_at stamp)."""
    month = _month(conn).label("month")
    q = (
        select(month, func.count(), type_coerce(func.max(articles.c.updated_at), String))
        .where(articles.c.status == "published")
        .group_by(month)
    )
    return {str(m): (int(n), str(u)) for m, n, u in conn.execute(q)}


def max_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(articles.c.id))).scalar() or 0)


def months_after(conn: Connection, after_id: int) -> set[str]:
    """The months of the article rows added after ``after_id`` (a primary-key range)."""
    q = select(_month(conn)).where(articles.c.id > after_id).distinct()
    return {str(m) for m in conn.execute(q).scalars()}


def month_total(conn: Connection, start: datetime, end: datetime) -> tuple[int, str]:
    """(published articles, newest updated_at stamp) of [start, end): one index range."""
    q = select(func.count(), type_coerce(func.max(articles.c.updated_at), String)).where(
        articles.c.status == "published",
        articles.c.published_at >= start,
        articles.c.published_at < end,
    )
    n, newest = conn.execute(q).one()
    return int(n), str(newest)


def months_of_events(conn: Connection, after: int, *, limit: int) -> set[str] | None:
    """Months of the articles named by article events after ``after``; None when more than
    ``limit`` events (then every month is checked in full)."""
    subjects = list(
        conn.execute(
            select(events.c.subject)
            .where(events.c.id > after, events.c.type.in_(_ARTICLE_EVENTS))
            .limit(limit + 1)
        ).scalars()
    )
    if len(subjects) > limit:
        return None
    if not subjects:
        return set()
    month = _month(conn)
    q = select(month).where(articles.c.external_id.in_(set(subjects))).distinct()
    return {str(m) for m in conn.execute(q).scalars()}


def last_article_event(conn: Connection) -> int:
    """One lookup per type in ix_events_type (an IN list would scan the events)."""
    found = [
        conn.execute(select(func.max(events.c.id)).where(events.c.type == kind)).scalar() or 0
        for kind in _ARTICLE_EVENTS
    ]
    return int(max(found))


def month_entries(conn: Connection, start: datetime, end: datetime) -> Iterator[tuple[str, Stamp]]:
    """(url, updated_at) of the published articles of [start, end), oldest first, streamed."""
    q = (
        select(articles.c.url, type_coerce(articles.c.updated_at, String))
        .where(
            articles.c.status == "published",
            articles.c.published_at >= start,
            articles.c.published_at < end,
        )
        .order_by(articles.c.published_at, articles.c.id)
    )
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(q)
    for url, stamp in result:
        yield str(url), stamp


def news_entries(
    conn: Connection, *, since: datetime, until: datetime, limit: int
) -> list[tuple[str, str, str, Stamp, Stamp]]:
    """(external id, url, title, published, updated) of the newest published articles of
    (since, until], newest first."""
    q = (
        select(
            articles.c.external_id, articles.c.url, articles.c.title,
            type_coerce(articles.c.published_at, String),
            type_coerce(articles.c.updated_at, String),
        )
        .where(
            articles.c.status == "published",
            articles.c.published_at > since,
            articles.c.published_at <= until,
        )
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [(str(e), str(u), str(t), p, m) for e, u, t, p, m in conn.execute(q)]
