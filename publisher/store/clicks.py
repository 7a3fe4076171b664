"""Click analytics tables: counts per link and hour, unique-click sketches, email views,
per-reader clicks and opt-outs (issue 16)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import OperationalError

from publisher.core.timeparse import hour_floor
from publisher.store.clickschema import (
    click_counts,
    click_optouts,
    click_sketches,
    reader_clicks,
    source_view_buckets,
)
from publisher.store.db import StoreError, dialect_insert
from publisher.store.digest_runs import RunRow
from publisher.store.digest_runs import _row as run_from_row
from publisher.store.outboxsql import of_prefix
from publisher.store.schema import (
    articles,
    digest_runs,
    outbox,
    sections,
    subscriber_aliases,
    subscribers,
    suppressions,
)

# (run, variant, position, article, kind, reason, hour)
ClickKey = tuple[int, int, int, int, str, str, datetime]
Merge = Callable[[bytes | None, bytes], bytes]
_CHUNK = 5_000  # ids per IN (…): under every database's parameter limit


@dataclass(frozen=True, slots=True)
class ReaderClick:
    subscriber_id: int
    run_id: int
    position: int
    article_id: int
    at: datetime
    issued: datetime | None = None  # when the link's reader part was made (None: trusted)


@dataclass(frozen=True, slots=True)
class LinkCount:
    variant: int
    position: int
    article_id: int
    kind: str
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    id: int
    external_id: str
    title: str
    url: str
    section: str | None
    section_name: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ClickBatch:
    """What one flush writes, in one transaction."""

    clicks: Mapping[ClickKey, int]
    email_views: Mapping[tuple[int, datetime], int]  # (article id, hour) → human clicks
    sketches: Mapping[int, bytes]  # run id → registers to merge in
    readers: Sequence[ReaderClick] = ()
    forget: Sequence[ReaderClick] = ()  # rows written earlier, found part of a burst since


def write_batch(engine: Engine, batch: ClickBatch, merge: Merge) -> int:
    """Add a flush's counts; returns the clicks stored (negative deltas move a burst's
    clicks from human to machine). Email views of unknown articles are dropped."""
    try:
        with engine.begin() as conn:
            _add_clicks(conn, batch.clicks)
            _add_email_views(conn, batch.email_views)
            _merge_sketches(conn, batch.sketches, merge)
            if batch.readers:
                rows = [vars_of(r) for r in held_clicks(conn, batch.readers)]
                if rows:
                    conn.execute(reader_clicks.insert(), rows)
            _forget_clicks(conn, batch.forget)
    except OperationalError as exc:
        raise StoreError(f"database_url: cannot write: {str(exc.orig).strip()}") from None
    return sum(batch.clicks.values())


def _forget_clicks(conn: Connection, clicks: Sequence[ReaderClick]) -> None:
    """Delete reader rows written before a burst showed they were a machine's (held_clicks
    maps each to the row it was written as)."""
    rc = reader_clicks.c
    for r in held_clicks(conn, clicks) if clicks else ():
        conn.execute(delete(reader_clicks).where(
            rc.subscriber_id == r.subscriber_id, rc.run_id == r.run_id,
            rc.position == r.position, rc.article_id == r.article_id, rc.at == r.at,
        ))  # fmt: skip


def held_clicks(conn: Connection, readers: Sequence[ReaderClick]) -> list[ReaderClick]:
    """The clicks kept as their reader's: the subscriber the link was made for still holds
    the id, and has not opted out since the mail was sent.

    SQLite gives a deleted subscriber's id to the next sign-up: a row created after the
    link's reader part was issued is someone else (store/subscribers.subscriber_by_id
    refuses the same for unsubscribe and preferences links); a subscriber merged into
    another one (migration 0008) is followed to it. The others count in the totals only."""
    ids = list({r.subscriber_id for r in readers})
    created: dict[int, datetime] = {}
    alias: dict[int, int] = {}
    s, a = subscribers.c, subscriber_aliases.c
    for at in range(0, len(ids), _CHUNK):
        chunk = ids[at : at + _CHUNK]
        for sid, made in conn.execute(select(s.id, s.created_at).where(s.id.in_(chunk))):
            created[int(sid)] = made
        for old, new in conn.execute(select(a.old_id, a.subscriber_id).where(a.old_id.in_(chunk))):
            alias[int(old)] = int(new)
    out = opted_out_ids(conn)
    kept: list[ReaderClick] = []
    for r in readers:
        made = created.get(r.subscriber_id)
        sid = r.subscriber_id
        if made is None or (r.issued is not None and made.replace(microsecond=0) > r.issued):
            sid = alias.get(sid, 0)
        if sid and sid not in out:
            kept.append(r if sid == r.subscriber_id else replace(r, subscriber_id=sid))
    return kept


def vars_of(r: ReaderClick) -> dict[str, object]:
    return {"subscriber_id": r.subscriber_id, "run_id": r.run_id, "position": r.position,
            "article_id": r.article_id, "at": r.at}  # fmt: skip


def _add_clicks(conn: Connection, counts: Mapping[ClickKey, int]) -> None:
    cols = ("run_id", "variant", "position", "article_id", "kind", "reason", "hour")
    rows = [{**dict(zip(cols, k, strict=True)), "count": n} for k, n in counts.items() if n]
    if not rows:
        return
    stmt = dialect_insert(conn)(click_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[click_counts.c[c] for c in cols],
        set_={"count": click_counts.c.count + stmt.excluded.count},
    )
    conn.execute(stmt, rows)


def _add_email_views(conn: Connection, counts: Mapping[tuple[int, datetime], int]) -> None:
    wanted = {a for a, _ in counts}
    if not wanted:
        return
    known = {
        int(i) for (i,) in conn.execute(select(articles.c.id).where(articles.c.id.in_(wanted)))
    }
    rows = [
        {"article_id": a, "hour": hour_floor(h), "source": "email", "count": n}
        for (a, h), n in counts.items()
        if a in known and n
    ]
    if not rows:
        return
    stmt = dialect_insert(conn)(source_view_buckets)
    stmt = stmt.on_conflict_do_update(
        index_elements=[source_view_buckets.c.article_id, source_view_buckets.c.hour,
                        source_view_buckets.c.source],
        set_={"count": source_view_buckets.c.count + stmt.excluded.count},
    )  # fmt: skip
    conn.execute(stmt, rows)


def _merge_sketches(conn: Connection, sketches: Mapping[int, bytes], merge: Merge) -> None:
    for run_id, registers in sketches.items():
        old = conn.execute(
            select(click_sketches.c.registers).where(click_sketches.c.run_id == run_id)
        ).scalar()
        merged = merge(bytes(old) if old is not None else None, registers)
        if old is None:
            conn.execute(click_sketches.insert().values(run_id=run_id, registers=merged))
        else:
            conn.execute(
                click_sketches.update()
                .where(click_sketches.c.run_id == run_id)
                .values(registers=merged)
            )


# --- reads -------------------------------------------------------------------------------


def article_info(conn: Connection, article_id: int) -> ArticleInfo | None:
    q = (
        select(articles.c.id, articles.c.external_id, articles.c.title, articles.c.url,
               articles.c.section, sections.c.name, articles.c.status)
        .select_from(articles.outerjoin(sections, sections.c.slug == articles.c.section))
        .where(articles.c.id == article_id)
    )  # fmt: skip
    r = conn.execute(q).first()
    if r is None:
        return None
    return ArticleInfo(int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4], r[5], str(r[6]))


def articles_info(conn: Connection, ids: Sequence[int]) -> dict[int, ArticleInfo]:
    found: dict[int, ArticleInfo] = {}
    for i in dict.fromkeys(ids):
        info = article_info(conn, i)
        if info is not None:
            found[i] = info
    return found


def link_counts(conn: Connection, run_id: int) -> list[LinkCount]:
    """A run's clicks per link, kind and reason (all hours summed)."""
    c = click_counts.c
    q = (
        select(c.variant, c.position, c.article_id, c.kind, c.reason, func.sum(c.count))
        .where(c.run_id == run_id)
        .group_by(c.variant, c.position, c.article_id, c.kind, c.reason)
        .order_by(c.position, c.variant)
    )
    return [LinkCount(int(v), int(p), int(a), str(k), str(r), int(n)) for v, p, a, k, r, n in
            conn.execute(q)]  # fmt: skip


def clicks_per_run(conn: Connection, run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Link clicks (not opens) per run and kind (``human``, ``machine``), all hours summed."""
    c = click_counts.c
    q = (
        select(c.run_id, c.kind, func.sum(c.count))
        .where(c.run_id.in_(list(run_ids)), c.position > 0)
        .group_by(c.run_id, c.kind)
    )
    found: dict[int, dict[str, int]] = {}
    for run_id, kind, n in conn.execute(q):
        found.setdefault(int(run_id), {})[str(kind)] = int(n)
    return found


def sketch(conn: Connection, run_id: int) -> bytes | None:
    found = conn.execute(
        select(click_sketches.c.registers).where(click_sketches.c.run_id == run_id)
    ).scalar()
    return bytes(found) if found is not None else None


def run_row(conn: Connection, run_id: int) -> RunRow | None:
    """The digest run ``run_id`` (any digest), or None."""
    found = conn.execute(select(digest_runs).where(digest_runs.c.id == run_id)).first()
    return run_from_row(found) if found is not None else None


def run_suppressions(conn: Connection, dedupe_prefix: str, since: datetime) -> dict[str, int]:
    """Recipients of a run suppressed since it was queued, by reason (hard_bounce, complaint…).

    Matched on the lower-cased address, as the suppression list keys most addresses."""
    q = (
        select(suppressions.c.reason, func.count(func.distinct(outbox.c.recipient)))
        .select_from(
            outbox.join(suppressions, suppressions.c.email == func.lower(outbox.c.recipient))
        )
        .where(of_prefix(dedupe_prefix), suppressions.c.created_at >= since)
        .group_by(suppressions.c.reason)
    )
    return {str(r): int(n) for r, n in conn.execute(q)}


# --- per reader --------------------------------------------------------------------------


def opted_out_ids(conn: Connection) -> set[int]:
    return {int(i) for (i,) in conn.execute(select(click_optouts.c.subscriber_id))}


def is_opted_out(conn: Connection, subscriber_id: int) -> bool:
    q = select(click_optouts.c.subscriber_id).where(click_optouts.c.subscriber_id == subscriber_id)
    return conn.execute(q).first() is not None


def set_opt_out(conn: Connection, subscriber_id: int, opted_out: bool, now: datetime) -> None:
    conn.execute(delete(click_optouts).where(click_optouts.c.subscriber_id == subscriber_id))
    if opted_out:
        conn.execute(click_optouts.insert().values(subscriber_id=subscriber_id, created_at=now))
        # Opting out also forgets what was recorded.
        conn.execute(delete(reader_clicks).where(reader_clicks.c.subscriber_id == subscriber_id))


def reader_history(conn: Connection, subscriber_id: int, limit: int = 500) -> list[ReaderClick]:
    rc = reader_clicks.c
    q = (
        select(rc.subscriber_id, rc.run_id, rc.position, rc.article_id, rc.at)
        .where(rc.subscriber_id == subscriber_id)
        .order_by(rc.at.desc())
        .limit(limit)
    )
    return [ReaderClick(int(s), int(r), int(p), int(a), at) for s, r, p, a, at in conn.execute(q)]


# --- retention ---------------------------------------------------------------------------


def purge_reader_clicks(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(reader_clicks).where(reader_clicks.c.at < before)).rowcount or 0


def fold_hours(conn: Connection, before: datetime, since: datetime) -> int:
    """Hourly click counts in [since, before) become one count per link and day (UTC).

    The daily job passes a few weeks for ``since``: older hours were folded by earlier runs
    (folding a day twice gives the same day). Returns the rows read."""
    c = click_counts.c
    keys = (c.run_id, c.variant, c.position, c.article_id, c.kind, c.reason)
    span = (c.hour < before) & (c.hour >= since)
    rows = conn.execute(select(*keys, c.hour, c.count).where(span)).all()
    folded: dict[ClickKey, int] = {}
    for run_id, variant, position, article_id, kind, reason, hour, count in rows:
        midnight = hour.replace(hour=0, minute=0, second=0, microsecond=0)
        key = (run_id, variant, position, article_id, kind, reason, midnight)
        folded[key] = folded.get(key, 0) + count
    if not rows:
        return 0
    conn.execute(delete(click_counts).where(span))
    _add_clicks(conn, folded)
    return len(rows)
