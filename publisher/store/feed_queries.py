"""Light queries for the feed builder: which articles a feed would show, without their bodies.

They let a build decide "nothing changed" from ids and update times alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, desc, func, select

from publisher.store.schema import articles, view_buckets
from publisher.timeutil import hour_floor

FeedKey = tuple[str, datetime]  # (external id, updated_at)


def latest_keys(conn: Connection, *, limit: int, section: str | None = None) -> list[FeedKey]:
    """The keys of latest_articles(conn, limit=limit, section=section), in the same order."""
    q = select(articles.c.external_id, articles.c.updated_at).where(
        articles.c.status == "published"
    )
    if section is not None:
        q = q.where(articles.c.section == section)
    q = q.order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(limit)
    return [(str(e), u) for e, u in conn.execute(q)]


def popular_keys(
    conn: Connection, *, now: datetime, window: timedelta, limit: int
) -> list[FeedKey]:
    """The keys of views.most_viewed(conn, now=now, window=window, limit=limit), same order."""
    start = hour_floor(now - window)
    if start < now - window:
        start += timedelta(hours=1)  # only whole buckets inside the window, as most_viewed
    totals = (
        select(view_buckets.c.article_id, func.sum(view_buckets.c.count).label("views"))
        .where(view_buckets.c.hour >= start, view_buckets.c.hour <= now)
        .group_by(view_buckets.c.article_id)
        .subquery()
    )
    q = (
        select(articles.c.external_id, articles.c.updated_at)
        .join(totals, totals.c.article_id == articles.c.id)
        .where(articles.c.status == "published")
        .order_by(desc(totals.c.views), articles.c.published_at.desc(), articles.c.id.desc())
        .limit(limit)
    )
    return [(str(e), u) for e, u in conn.execute(q)]
