"""Read queries behind the console's pages, each through an index (the console's own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, false, func, select

from publisher.core.vocab import OutboxStatus
from publisher.store.outboxsql import FINAL, LIVE, is_status
from publisher.store.schema import (
    articles,
    digest_runs,
    outbox,
    subscribers,
    suppressions,
    view_buckets,
)

# Statuses of messages still on their way (the outbox's depth).
WAITING: tuple[OutboxStatus, ...] = LIVE
HIGH = "\U0010ffff"  # sorts after every character: prefix ranges use the index


@dataclass(frozen=True, slots=True)
class Found:
    id: int
    email: str
    name: str
    status: str
    frequency: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    kind: str
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    last_reply: str
    dedupe_key: str
    recipient: str


def _found(r: Any) -> Found:
    return Found(r.id, r.email, r.name, r.status, r.frequency, r.created_at)


def _bytewise(conn: Connection, column: Any) -> Any:
    """``column`` compared in byte order: PostgreSQL's "C" collation (indexed so by 0012)."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _prefix(conn: Connection, column: Any, prefix: str) -> tuple[Any, Any]:
    """WHERE and ORDER BY of "starts with ``prefix``" as an index range."""
    col = _bytewise(conn, column)
    return and_(col >= prefix, col < prefix + HIGH), col


def search_subscribers(conn: Connection, *, key: str, name: str, limit: int) -> list[Found]:
    """Address prefix (canonical, so case-insensitive) or name prefix: both index ranges."""
    cols = (subscribers.c.id, subscribers.c.email, subscribers.c.name, subscribers.c.status,
            subscribers.c.frequency, subscribers.c.created_at)  # fmt: skip
    found: dict[int, Found] = {}
    for column, prefix in ((subscribers.c.email_key, key), (subscribers.c.name, name)):
        if not prefix or len(found) >= limit:
            continue
        where, order = _prefix(conn, column, prefix)
        q = select(*cols).where(where).order_by(order).limit(limit - len(found))
        for r in conn.execute(q):
            found.setdefault(r.id, _found(r))
    return list(found.values())


def _message(r: Any) -> Message:
    return Message(
        r.id, r.kind, r.status, r.attempts, r.created_at, r.updated_at, r.sent_at,
        r.last_reply or "", r.dedupe_key, r.recipient,
    )  # fmt: skip


_MESSAGE_COLS = (
    outbox.c.id, outbox.c.kind, outbox.c.status, outbox.c.attempts, outbox.c.created_at,
    outbox.c.updated_at, outbox.c.sent_at, outbox.c.last_reply, outbox.c.dedupe_key,
    outbox.c.recipient,
)  # fmt: skip


def messages_to(conn: Connection, addresses: list[str], *, limit: int) -> list[Message]:
    """A reader's messages, newest first, on the index of ``lower(recipient)`` (0020).
    Recipients are stored ASCII (addresses.to_ascii), where Python's and the databases'
    ``lower`` agree."""
    q = (
        select(*_MESSAGE_COLS)
        .where(func.lower(outbox.c.recipient).in_(sorted({a.lower() for a in addresses})))
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    return [_message(r) for r in conn.execute(q)]


def outbox_rows(
    conn: Connection, *, status: str | None, kind: str | None, domain: str | None, limit: int
) -> list[Message]:
    """Newest first; a domain filter reads backwards until it has ``limit`` rows."""
    q = select(*_MESSAGE_COLS).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        q = q.where(_status_is(status))
    if kind:
        q = q.where(outbox.c.kind == kind)
    if domain:
        q = q.where(outbox.c.recipient.like(f"%@{domain}", escape="\\"))
    return [_message(r) for r in conn.execute(q)]


def _status_is(status: str) -> Any:
    """A known status other than ``sent`` goes through its partial index; ``sent`` rows are
    most of the table, and newest first is the primary key read backwards. Anything else is
    nothing, without reading a row: never SQL text from a request."""
    if status in LIVE or (status in FINAL and status != "sent"):
        return is_status(status)
    return outbox.c.status == status if status == "sent" else false()


def waiting(conn: Connection) -> tuple[dict[str, int], datetime | None]:
    """Messages on their way per status, and the oldest one's creation: a range of each
    waiting status's partial index, never the sent millions."""
    depth: dict[str, int] = {}
    firsts: list[int] = []
    for status in WAITING:
        n, first = conn.execute(
            select(func.count(), func.min(outbox.c.id)).where(is_status(status))
        ).one()
        if n:
            depth[status] = int(n)
            firsts.append(int(first))
    if not depth:
        return depth, None
    # Ids grow with creation, so the oldest waiting row is the smallest id.
    first = min(firsts)
    value: datetime | None = conn.execute(
        select(outbox.c.created_at).where(outbox.c.id == first)
    ).scalar()
    return depth, value


def search_suppressions(conn: Connection, *, prefix: str, limit: int) -> list[Any]:
    q = select(suppressions).order_by(suppressions.c.created_at.desc()).limit(limit)
    if prefix:
        q = q.where(_prefix(conn, suppressions.c.email, prefix)[0])
    return list(conn.execute(q))


@dataclass(frozen=True, slots=True)
class ArticleLine:
    external_id: str
    title: str
    url: str
    section: str | None
    status: str
    published_at: datetime
    registered_at: datetime
    views: int
    runs: list[tuple[str, int]]  # (digest id, run id) whose window took it in


def recent_articles(conn: Connection, *, limit: int) -> list[ArticleLine]:
    views = (
        select(view_buckets.c.article_id, func.sum(view_buckets.c.count).label("n"))
        .group_by(view_buckets.c.article_id)
        .subquery()
    )
    q = (
        select(articles, func.coalesce(views.c.n, 0).label("views"))
        .outerjoin(views, views.c.article_id == articles.c.id)
        .order_by(articles.c.registered_at.desc(), articles.c.id.desc())
        .limit(limit)
    )
    rows = list(conn.execute(q))
    if not rows:
        return []
    oldest = min(r.registered_at for r in rows)
    runs = list(
        conn.execute(
            select(digest_runs.c.id, digest_runs.c.digest_id, digest_runs.c.window_start,
                   digest_runs.c.window_end)
            .where(digest_runs.c.window_end >= oldest, digest_runs.c.status == "enqueued")
        )
    )  # fmt: skip
    return [
        ArticleLine(
            r.external_id, r.title, r.url, r.section, r.status, r.published_at, r.registered_at,
            int(r.views), [(x.digest_id, x.id) for x in runs
                           if x.window_start < r.registered_at <= x.window_end],
        )
        for r in rows
    ]  # fmt: skip
