"""Page-view buckets (hourly, per article) and the most-viewed ranking."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Subquery, case, desc, func, literal, select, union_all
from sqlalchemy.exc import OperationalError

from publisher.core.models import RankedArticle
from publisher.core.storable import INT4_MAX
from publisher.core.timeparse import hour_floor
from publisher.store.articles import article_from_row, select_articles
from publisher.store.clickschema import source_view_buckets
from publisher.store.db import StoreError, dialect_insert
from publisher.store.schema import articles, view_buckets

_CHUNK = 500
# How much one view of each source counts in the ranking (setting most_viewed_sources):
# "web" is the view_buckets table, every other source a slice of source_view_buckets.
DEFAULT_WEIGHTS: Mapping[str, float] = {"web": 1.0, "email": 1.0}


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

    Returns rows touched. A bucket's count stops at INT4_MAX (view_buckets.count is an
    Integer): summed past it, PostgreSQL refused the statement ("integer out of range") and
    SQLite stored a number PostgreSQL cannot hold. Counts add up from several places (an
    import's records, a re-import, the nightly fold of 24 hours into a day), so only here is
    every sum seen; over two billion views of one article in one bucket is no real count.
    """
    rows = [{"article_id": a, "hour": h, "count": min(n, INT4_MAX)}
            for (a, h), n in counts.items() if n > 0]  # fmt: skip
    if not rows:
        return 0
    insert_fn = dialect_insert(conn)
    stmt = insert_fn(view_buckets)
    old, new = view_buckets.c.count, stmt.excluded.count
    # Compared, never added, before the cap: int4 + int4 overflows on PostgreSQL itself.
    capped = case((old > INT4_MAX - new, INT4_MAX), else_=old + new)
    stmt = stmt.on_conflict_do_update(
        index_elements=[view_buckets.c.article_id, view_buckets.c.hour],
        set_={"count": capped},
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
    weights: Mapping[str, float] | None = None,
) -> list[RankedArticle]:
    """Top articles by views in the hourly buckets overlapping (now - window, now].

    Views of each source count ``weights[source]`` times (default: web and email alike).
    Ties break on the newer article. Retracted and unknown articles never appear.
    """
    totals = weighted_totals(now=now, window=window, weights=weights)
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
        RankedArticle(rank=i, article=article_from_row(r), views=round(r.views))
        for i, r in enumerate(rows, start=1)
    ]


def window_start(now: datetime, window: timedelta) -> datetime:
    """The first whole hourly bucket inside (now - window, now]."""
    start = hour_floor(now - window)
    if start < now - window:
        start += timedelta(hours=1)  # only whole buckets inside the window
    return start


def weighted_totals(
    *, now: datetime, window: timedelta, weights: Mapping[str, float] | None = None
) -> Subquery:
    """(article_id, views) in the window, each source's views times its weight.

    With the web alone at weight 1 (or no other source's views weighed) this is the plain
    sum over view_buckets, as fast as before sources existed."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    start = window_start(now, window)
    web_weight = weights.get("web", 0.0)
    others = {name: w for name, w in weights.items() if name != "web" and w > 0}
    vb, sv = view_buckets.c, source_view_buckets.c
    web_sum = func.sum(vb.count)
    if not others:
        views = web_sum if web_weight == 1 else web_sum * literal(web_weight)
        return (
            select(vb.article_id, views.label("views"))
            .where(vb.hour >= start, vb.hour <= now)
            .group_by(vb.article_id)
            .subquery()
        )
    # Each source summed per article on its own (the web's sum is the plain query's, using
    # the same index), then the few per-article sums added up: the big table is not re-read.
    parts = [
        select(vb.article_id.label("article_id"), (web_sum * literal(web_weight)).label("v"))
        .where(vb.hour >= start, vb.hour <= now)
        .group_by(vb.article_id)
    ]  # fmt: skip
    for name, w in others.items():
        parts.append(
            select(sv.article_id.label("article_id"), (func.sum(sv.count) * literal(w)).label("v"))
            .where(sv.source == name, sv.hour >= start, sv.hour <= now)
            .group_by(sv.article_id)
        )  # fmt: skip
    rows = union_all(*parts).subquery()
    return (
        select(rows.c.article_id, func.sum(rows.c.v).label("views"))
        .group_by(rows.c.article_id)
        .having(func.sum(rows.c.v) > 0)
        .subquery()
    )


def has_views(conn: Connection) -> bool:
    """Whether any view has been recorded at all."""
    return conn.execute(select(view_buckets.c.article_id).limit(1)).first() is not None
