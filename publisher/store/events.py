"""The durable event log (issue 17): what changed, appended in the transaction of the change.

Consumers (webhook endpoints, IndexNow) read it in id order from their own cursor, so an event
is never lost between the change and its delivery, and never read twice by one consumer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from publisher.store.syndicationschema import event_cursors, events


@dataclass(frozen=True, slots=True)
class Event:
    seq: int  # position in the log (the cursor)
    event_id: str  # stable: what receivers deduplicate on
    type: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def record_event(
    conn: Connection,
    event_type: str,
    subject: str,
    data: Mapping[str, Any],
    *,
    now: datetime,
) -> str:
    """Append one event in the caller's transaction; returns its stable id."""
    event_id = new_event_id()
    conn.execute(
        insert(events).values(
            event_id=event_id,
            type=event_type,
            subject=subject[:200],
            payload=json.dumps(dict(data), ensure_ascii=False, sort_keys=True, default=str),
            created_at=now,
        )
    )
    return event_id


def record_events(
    conn: Connection, batch: Sequence[tuple[str, str, Mapping[str, Any]]], *, now: datetime
) -> int:
    """Many events in one statement (a big import emits one per article)."""
    if not batch:
        return 0
    rows = [
        {
            "event_id": new_event_id(),
            "type": kind,
            "subject": subject[:200],
            "payload": json.dumps(dict(data), ensure_ascii=False, sort_keys=True, default=str),
            "created_at": now,
        }
        for kind, subject, data in batch
    ]
    conn.execute(insert(events), rows)
    return len(rows)


def _event(r: Any) -> Event:
    return Event(r.id, r.event_id, r.type, r.subject, json.loads(r.payload), r.created_at)


def events_after(
    conn: Connection, after: int, *, types: Sequence[str] | None = None, limit: int = 1000
) -> list[Event]:
    q = select(events).where(events.c.id > after)
    if types is not None:
        q = q.where(events.c.type.in_(list(types)))
    return [_event(r) for r in conn.execute(q.order_by(events.c.id).limit(limit))]


# How long a gap in the event ids may still be filled by a transaction that has not committed.
GAP_GRACE = timedelta(seconds=60)


def settled_after(conn: Connection, after: int, *, now: datetime, limit: int = 1000) -> list[Event]:
    """Events after ``after``, in id order, stopping at the first gap in the ids that may still
    be filled: PostgreSQL hands out ids at insert, so a transaction holding a lower id can
    commit after one holding a higher id, and a consumer that read past it would never see
    it. A gap whose next event is older than GAP_GRACE is an insert that was rolled back."""
    out: list[Event] = []
    expected = after + 1
    for e in events_after(conn, after, limit=limit):
        if e.seq != expected and now - e.created_at < GAP_GRACE:
            break
        out.append(e)
        expected = e.seq + 1
    return out


def events_by_seq(conn: Connection, seqs: Sequence[int]) -> dict[int, Event]:
    if not seqs:
        return {}
    return {r.id: _event(r) for r in conn.execute(select(events).where(events.c.id.in_(seqs)))}


def last_seq(conn: Connection, *, types: Sequence[str] | None = None) -> int:
    q = select(func.max(events.c.id))
    if types is not None:
        q = q.where(events.c.type.in_(list(types)))
    return int(conn.execute(q).scalar() or 0)


def recent_events(conn: Connection, *, limit: int = 50) -> list[Event]:
    q = select(events).order_by(events.c.id.desc()).limit(limit)
    return [_event(r) for r in conn.execute(q)]


def cursor(conn: Connection, consumer: str) -> int | None:
    """Where ``consumer`` stopped reading; None for a consumer never seen."""
    value = conn.execute(
        select(event_cursors.c.last_id).where(event_cursors.c.consumer == consumer)
    ).scalar()
    return None if value is None else int(value)


def set_cursor(conn: Connection, consumer: str, last_id: int) -> None:
    done = conn.execute(
        update(event_cursors).where(event_cursors.c.consumer == consumer).values(last_id=last_id)
    )
    if not done.rowcount:
        conn.execute(insert(event_cursors).values(consumer=consumer, last_id=last_id))


def article_data(
    external_id: str, url: str, title: str, status: str, updated_at: datetime
) -> dict[str, Any]:
    return {
        "id": external_id,
        "url": url,
        "title": title,
        "status": status,
        "updated_at": updated_at.isoformat(),
    }


def article_written(
    conn: Connection, rows: Sequence[Any], outcomes: Sequence[str], now: datetime
) -> None:
    """The article events of an upsert batch (store.articles.write_rows ``after``): a new
    published article is article.published, a changed one article.updated (or
    article.retracted when it now says retracted); an unchanged one is no event."""
    batch: list[tuple[str, str, Mapping[str, Any]]] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome == "added" and row.status == "published":
            kind = "article.published"
        elif outcome == "updated":
            kind = "article.retracted" if row.status == "retracted" else "article.updated"
        else:
            continue
        data = article_data(row.external_id, row.url, row.title, row.status, row.updated_at)
        batch.append((kind, row.external_id, data))
    record_events(conn, batch, now=now)


def last_seq_before(conn: Connection, when: datetime) -> int:
    """The last event recorded before ``when`` (0: none)."""
    q = select(func.max(events.c.id)).where(events.c.created_at < when)
    return int(conn.execute(q).scalar() or 0)


def count_for(conn: Connection, subject: str, types: Sequence[str]) -> int:
    """How many events of ``types`` name ``subject`` (an article's corrections: its version)."""
    q = select(func.count()).where(events.c.subject == subject, events.c.type.in_(list(types)))
    return int(conn.execute(q).scalar_one())


def counts_for(conn: Connection, subjects: Sequence[str], types: Sequence[str]) -> dict[str, int]:
    if not subjects:
        return {}
    q = (
        select(events.c.subject, func.count())
        .where(events.c.subject.in_(list(subjects)), events.c.type.in_(list(types)))
        .group_by(events.c.subject)
    )
    return {str(s): int(n) for s, n in conn.execute(q)}
