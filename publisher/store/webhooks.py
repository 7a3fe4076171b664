"""Webhook deliveries and endpoint state (issue 17): one row per (endpoint, event)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from publisher.store.syndicationschema import webhook_deliveries, webhook_endpoints


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event: int  # the event's seq
    attempts: int


@dataclass(frozen=True, slots=True)
class EndpointState:
    name: str
    failures: int
    failing_since: datetime | None
    disabled_at: datetime | None
    last_error: str
    pending: int
    delivered: int


def queue(conn: Connection, endpoint: str, seqs: Sequence[int], *, now: datetime) -> None:
    """A pending delivery per event; one already there stays as it is."""
    if not seqs:
        return
    known = set(
        conn.execute(
            select(webhook_deliveries.c.event).where(
                webhook_deliveries.c.endpoint == endpoint, webhook_deliveries.c.event.in_(seqs)
            )
        ).scalars()
    )
    rows = [
        {
            "endpoint": endpoint, "event": seq, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "last_error": "", "created_at": now,
        }
        for seq in seqs
        if seq not in known
    ]  # fmt: skip
    if rows:
        conn.execute(insert(webhook_deliveries), rows)


def due(conn: Connection, endpoint: str, *, now: datetime, limit: int) -> list[Delivery]:
    q = (
        select(webhook_deliveries.c.id, webhook_deliveries.c.event, webhook_deliveries.c.attempts)
        .where(
            webhook_deliveries.c.endpoint == endpoint,
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_attempt_at <= now,
        )
        .order_by(webhook_deliveries.c.event)
        .limit(limit)
    )
    return [Delivery(r.id, r.event, r.attempts) for r in conn.execute(q)]


def delivered(conn: Connection, delivery_id: int, *, now: datetime) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            status="delivered", attempts=webhook_deliveries.c.attempts + 1, delivered_at=now,
            last_error="",
        )
    )  # fmt: skip
    name = _endpoint_of(conn, delivery_id)
    _ensure(conn, name)
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.name == name)
        .values(failures=0, failing_since=None, last_error="")
    )


def failed(
    conn: Connection, delivery_id: int, *, error: str, retry_at: datetime, now: datetime
) -> int:
    """Record a failed attempt; returns the endpoint's failure streak after it."""
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            attempts=webhook_deliveries.c.attempts + 1, next_attempt_at=retry_at,
            last_error=error[:500],
        )
    )  # fmt: skip
    name = _endpoint_of(conn, delivery_id)
    _ensure(conn, name)
    t = webhook_endpoints
    conn.execute(
        update(t)
        .where(t.c.name == name)
        .values(
            failures=t.c.failures + 1,
            failing_since=func.coalesce(t.c.failing_since, now),
            last_error=error[:500],
        )
    )
    return int(conn.execute(select(t.c.failures).where(t.c.name == name)).scalar() or 0)


def _endpoint_of(conn: Connection, delivery_id: int) -> str:
    q = select(webhook_deliveries.c.endpoint).where(webhook_deliveries.c.id == delivery_id)
    return str(conn.execute(q).scalar_one())


def _ensure(conn: Connection, name: str) -> None:
    found = conn.execute(
        select(webhook_endpoints.c.name).where(webhook_endpoints.c.name == name)
    ).first()
    if found is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(webhook_endpoints).values(name=name, failures=0, last_error=""))
        except IntegrityError:
            pass  # another instance made it first


def disable(conn: Connection, name: str, *, now: datetime) -> None:
    _ensure(conn, name)
    conn.execute(
        update(webhook_endpoints).where(webhook_endpoints.c.name == name).values(disabled_at=now)
    )


def enable(conn: Connection, name: str, *, now: datetime) -> None:
    """Deliveries start again at once, and the streak starts from zero."""
    _ensure(conn, name)
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.name == name)
        .values(disabled_at=None, failures=0, failing_since=None)
    )
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.endpoint == name, webhook_deliveries.c.status == "pending")
        .values(next_attempt_at=now)
    )


def is_disabled(conn: Connection, name: str) -> bool:
    q = select(webhook_endpoints.c.disabled_at).where(webhook_endpoints.c.name == name)
    return conn.execute(q).scalar() is not None


def states(conn: Connection, names: Sequence[str]) -> list[EndpointState]:
    d = webhook_deliveries
    counts: dict[tuple[str, str], int] = {
        (str(e), str(s)): int(n)
        for e, s, n in conn.execute(
            select(d.c.endpoint, d.c.status, func.count())
            .where(d.c.endpoint.in_(list(names)))
            .group_by(d.c.endpoint, d.c.status)
        )
    }
    rows = {
        r.name: r
        for r in conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.name.in_(list(names)))
        )
    }
    out = []
    for name in names:
        r = rows.get(name)
        out.append(
            EndpointState(
                name, r.failures if r else 0, r.failing_since if r else None,
                r.disabled_at if r else None, r.last_error if r else "",
                counts.get((name, "pending"), 0), counts.get((name, "delivered"), 0),
            )
        )  # fmt: skip
    return out


def purge_delivered(conn: Connection, *, before: datetime) -> int:
    """Delivered rows older than ``before`` go (the events themselves stay: ninjs versions
    count the corrections in them)."""
    q = delete(webhook_deliveries).where(
        webhook_deliveries.c.status == "delivered", webhook_deliveries.c.delivered_at < before
    )
    return int(conn.execute(q).rowcount or 0)
