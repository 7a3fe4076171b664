"""Page-view buckets (hourly, per article) and the most-viewed ranking."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, desc, func, select
from sqlalchemy.exc import OperationalError

from publisher.core.models import RankedArticle
from publisher.core.timeparse import hour_floor
from publisher.store.articles import article_from_row, select_articles
from publisher.store.db import StoreError, dialect_insert
from publisher.store.schema import articles, view_buckets

_CHUNK = 500


def resolve_ids(conn: Connection, external_ids: Iterable[str]) -> dict[str, int]:
    """external id → internal id, for the ids that exist (any status)."""
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        q = select(articles.c.external_id, articles.c.id).where(
            articles.c.external_id.in_(wanted[start : start + _CHUNK])
        )
        found.update({str(e): int(i) for e, i in conn.execute(q)})
    return found


def add_view_counts(conn: Connection, counts: Mapping[tuple[int, datetime], int]) -> int:
    """Add counts to (article id, hour) buckets; one statement, executed for all rows.

    Returns rows touched.
    """
    rows = [{"article_id": a, "hour": h, "count": n} for (a, h), n in counts.items() if n > 0]
    if not rows:
        return 0
    insert_fn = dialect_insert(conn)
    stmt = insert_fn(view_buckets)
    stmt = stmt.on_conflict_do_update(
        index_elements=[view_buckets.c.article_id, view_buckets.c.hour],
        set_={"count": view_buckets.c.count + stmt.excluded.count},
    )
    # executemany of one compiled statement: compiling a multi-row VALUES per chunk cost
    # more than the writes themselves.
    conn.execute(stmt, rows)
    return len(rows)


def write_view_counts(
    engine: Engine, counts: Mapping[tuple[str, datetime], int]
) -> tuple[int, set[str]]:
    """Add counts keyed by (external id, hour) in one transaction.

    Returns (views stored, external ids that match no article); unknown ids are not stored.
    """
    if not counts:
        return 0, set()
    try:
        with engine.begin() as conn:
            ids = resolve_ids(conn, (external for external, _ in counts))
            known: dict[tuple[int, datetime], int] = {}
            for (external, hour), n in counts.items():
                if external in ids:
                    key = (ids[external], hour_floor(hour))
                    known[key] = known.get(key, 0) + n
            add_view_counts(conn, known)
    except OperationalError as exc:
        raise StoreError(f"database_url: cannot write: {str(exc.orig).strip()}") from None
    unknown = {external for external, _ in counts if external not in ids}
    return sum(known.values()), unknown


def top_articles(
    conn: Connection,
    *,
    now: datetime,
    window: timedelta,
    limit: int,
    section: str | None = None,
) -> list[RankedArticle]:
    """Top articles by views in the hourly buckets overlapping (now - window, now].

    Ties break on the newer article. Retracted and unknown articles never appear.
    """
    start = hour_floor(now - window)
    if start < now - window:
        start += timedelta(hours=1)  # only whole buckets inside the window
    totals = (
        select(view_buckets.c.article_id, func.sum(view_buckets.c.count).label("views"))
        .where(view_buckets.c.hour >= start, view_buckets.c.hour <= now)
        .group_by(view_buckets.c.article_id)
        .subquery()
    )
    q = (
        select_articles()
        .add_columns(totals.c.views)
        .join(totals, totals.c.article_id == articles.c.id)
        .where(articles.c.status == "published")
    )
    if section is not None:
        q = q.where(articles.c.section == section)
    q = q.order_by(desc(totals.c.views), articles.c.published_at.desc(), articles.c.id.desc())
    rows = conn.execute(q.limit(limit)).all()
    return [
        RankedArticle(rank=i, article=article_from_row(r), views=int(r.views))
        for i, r in enumerate(rows, start=1)
    ]


def has_views(conn: Connection) -> bool:
    """Whether any view has been recorded at all."""
    return conn.execute(select(view_buckets.c.article_id).limit(1)).first() is not None
