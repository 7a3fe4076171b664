"""The IndexNow queue (issue 17): article URLs waiting for each endpoint, and each
endpoint's backoff and refused key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from publisher.store import events as store_events
from publisher.store.syndicationschema import indexnow_queue, indexnow_state

CONSUMER = "indexnow"
_ARTICLE_EVENTS = ("article.published", "article.updated", "article.retracted")


@dataclass(frozen=True, slots=True)
class EndpointState:
    endpoint: str
    failures: int
    next_attempt_at: datetime | None
    refused_key: str | None
    last_error: str
    queued: int


def take_events(conn: Connection, endpoints: Sequence[str], *, start: int, now: datetime) -> int:
    """Queue the URL of every article event after the cursor for every endpoint (a URL
    already waiting is not queued twice); the cursor moves in the same transaction. A cursor
    never set starts at ``start``. Returns the URLs queued."""
    after = store_events.cursor(conn, CONSUMER)
    after = start if after is None else after
    queued = 0
    while True:
        batch = store_events.settled_after(conn, after, now=now, limit=5000)
        if not batch:
            break
        urls = sorted(
            {
                str(e.payload["url"])
                for e in batch
                if e.type in _ARTICLE_EVENTS and e.payload.get("url")
            }
        )
        for endpoint in endpoints:
            queued += _queue(conn, endpoint, urls, now)
        after = batch[-1].seq
    store_events.set_cursor(conn, CONSUMER, after)
    return queued


def _queue(conn: Connection, endpoint: str, urls: list[str], now: datetime) -> int:
    if not urls:
        return 0
    known = set(
        conn.execute(
            select(indexnow_queue.c.url).where(
                indexnow_queue.c.endpoint == endpoint, indexnow_queue.c.url.in_(urls)
            )
        ).scalars()
    )
    rows = [{"endpoint": endpoint, "url": u, "created_at": now} for u in urls if u not in known]
    if rows:
        conn.execute(insert(indexnow_queue), rows)
    return len(rows)


def waiting(conn: Connection, endpoint: str, *, limit: int) -> list[tuple[int, str]]:
    q = (
        select(indexnow_queue.c.id, indexnow_queue.c.url)
        .where(indexnow_queue.c.endpoint == endpoint)
        .order_by(indexnow_queue.c.id)
        .limit(limit)
    )
    return [(int(i), str(u)) for i, u in conn.execute(q)]


def remove(conn: Connection, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 1000):
        chunk = list(ids[start : start + 1000])
        conn.execute(delete(indexnow_queue).where(indexnow_queue.c.id.in_(chunk)))


def state(conn: Connection, endpoint: str) -> EndpointState:
    r = conn.execute(select(indexnow_state).where(indexnow_state.c.endpoint == endpoint)).first()
    n = conn.execute(select(func.count()).where(indexnow_queue.c.endpoint == endpoint)).scalar_one()
    if r is None:
        return EndpointState(endpoint, 0, None, None, "", int(n))
    return EndpointState(
        endpoint, r.failures, r.next_attempt_at, r.refused_key, r.last_error, int(n)
    )


def set_state(
    conn: Connection, endpoint: str, *, failures: int, next_attempt_at: datetime | None,
    refused_key: str | None, last_error: str,
) -> None:  # fmt: skip
    values = {
        "failures": failures, "next_attempt_at": next_attempt_at, "refused_key": refused_key,
        "last_error": last_error[:500],
    }  # fmt: skip
    done = conn.execute(
        update(indexnow_state).where(indexnow_state.c.endpoint == endpoint).values(**values)
    )
    if not done.rowcount:
        conn.execute(insert(indexnow_state).values(endpoint=endpoint, **values))
