"""Light queries for the feed builder: which articles a feed would show, without their bodies.

They let a build decide "nothing changed" from ids and update stamps alone. Stamps are the
database's own representation of updated_at (no datetime conversion: this runs on every
build and only needs to be compared with itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, String, desc, func, select, type_coerce

from publisher.core.timeparse import hour_floor
from publisher.store.clickschema import source_view_buckets
from publisher.store.pageviews import weighted_totals
from publisher.store.schema import articles, view_buckets

FeedKey = tuple[str, str]  # (external id, updated_at stamp)
_STAMP = type_coerce(articles.c.updated_at, String).label("stamp")


def latest_keys(conn: Connection, *, limit: int, section: str | None = None) -> list[FeedKey]:
    """The keys of latest_articles(conn, limit=limit, section=section), in the same order.

    Ordering by published_at alone lets the database walk its index and stop early; the id
    tie-break is applied here. One extra row shows whether a tie crosses the limit: only then
    is the exact (sorting) query needed.
    """
    margin = limit + 1
    published = type_coerce(articles.c.published_at, String).label("published")
    q = select(articles.c.external_id, _STAMP, published, articles.c.id).where(
        articles.c.status == "published"
    )
    if section is not None:
        q = q.where(articles.c.section == section)
    rows = list(conn.execute(q.order_by(articles.c.published_at.desc()).limit(margin)))
    if len(rows) == margin and rows[limit].published == rows[limit - 1].published:
        rows = list(
            conn.execute(
                q.order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(limit)
            )
        )
    rows.sort(key=lambda r: (r.published, r.id), reverse=True)
    return [(str(r.external_id), str(r.stamp)) for r in rows[:limit]]


def _window_start(now: datetime, window: timedelta) -> datetime:
    start = hour_floor(now - window)
    if start < now - window:
        start += timedelta(hours=1)  # only whole buckets inside the window, as top_articles
    return start


def popular_keys(
    conn: Connection,
    *,
    now: datetime,
    window: timedelta,
    limit: int,
    weights: Mapping[str, float] | None = None,
) -> list[FeedKey]:
    """The keys of pageviews.top_articles(conn, now=now, window=window, limit=limit), same order."""
    totals = weighted_totals(now=now, window=window, weights=weights)
    q = (
        select(articles.c.external_id, _STAMP)
        .join(totals, totals.c.article_id == articles.c.id)
        .where(articles.c.status == "published")
        .order_by(desc(totals.c.views), articles.c.published_at.desc(), articles.c.id.desc())
        .limit(limit)
    )
    return [(str(e), str(u)) for e, u in conn.execute(q)]


def views_signature(conn: Connection, *, now: datetime, window: timedelta) -> str:
    """Changes whenever a view is counted or a bucket enters or leaves the window.

    Counts only grow (hits are added, never rewritten), so (buckets, total) inside the
    window moves with every change to the view data the ranking reads.
    """
    start = _window_start(now, window)
    q = select(func.count(), func.coalesce(func.sum(view_buckets.c.count), 0)).where(
        view_buckets.c.hour >= start, view_buckets.c.hour <= now
    )
    n, total = conn.execute(q).one()
    # Views from other sources (email clicks) move the ranking too (issue 16).
    sv = source_view_buckets.c
    q = select(func.count(), func.coalesce(func.sum(sv.count), 0)).where(
        sv.hour >= start, sv.hour <= now
    )
    n_other, other = conn.execute(q).one()
    return f"{start.isoformat()}/{int(n)}/{int(total)}/{int(n_other)}/{int(other)}"


def published_keys(conn: Connection, external_ids: Sequence[str]) -> dict[str, str]:
    """external id → updated_at stamp, for those of ``external_ids`` that are published."""
    if not external_ids:
        return {}
    q = select(articles.c.external_id, _STAMP).where(
        articles.c.external_id.in_(list(external_ids)), articles.c.status == "published"
    )
    return {str(e): str(u) for e, u in conn.execute(q)}
