"""Named queries for breaking-news alerts: the daily slots, the history, who gets them.

Two unique indexes hold the rules, whatever the callers do at the same time: one row per
article (never twice), and one row per (local day, slot) for the alerts that were sent, the
slots numbered 1..alerts_per_day (at most that many a day). An insert that loses a race does
nothing (ON CONFLICT DO NOTHING) and the caller learns which rule stopped it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, select, update

from publisher.core.vocab import AlertStatus
from publisher.store.alertschema import alerts
from publisher.store.db import dialect_insert
from publisher.store.schema import articles, subscribers, suppressions
from publisher.store.subscribers import Recipient


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    article_id: str
    title: str
    status: AlertStatus
    local_day: str
    slot: int | None
    subject: str
    recipient_count: int
    requested_by: str
    created_at: datetime


def _row(r: Any) -> AlertRow:
    return AlertRow(
        id=r.id, article_id=r.article_id, title=r.title, status=r.status,
        local_day=r.local_day, slot=r.slot, subject=r.subject,
        recipient_count=r.recipient_count, requested_by=r.requested_by, created_at=r.created_at,
    )  # fmt: skip


def for_article(conn: Connection, article_id: str) -> AlertRow | None:
    r = conn.execute(select(alerts).where(alerts.c.article_id == article_id)).first()
    return None if r is None else _row(r)


def sent_on(conn: Connection, local_day: str) -> int:
    q = select(func.count()).where(alerts.c.local_day == local_day, alerts.c.slot.is_not(None))
    return int(conn.execute(q).scalar() or 0)


# (outcome, the alert's id, its slot of the day)
Claim = tuple[Literal["claimed", "duplicate", "full"], int | None, int]


def claim(
    conn: Connection, *, article_id: str, title: str, local_day: str, cap: int,
    requested_by: str, now: datetime,
) -> Claim:  # fmt: skip
    """Take the next free slot of ``local_day`` for the article: ("claimed", id); the
    article already has a row: ("duplicate", its id); every slot is taken: ("full", None).
    The third value is the slot taken (0 when none)."""
    insert_fn = dialect_insert(conn)
    earlier = for_article(conn, article_id)
    if earlier is not None:  # "already had its alert" says more than "the day is full"
        return "duplicate", earlier.id, 0
    slot = sent_on(conn, local_day) + 1
    while slot <= cap:
        stmt = insert_fn(alerts).values(
            article_id=article_id, title=title, status="sent", local_day=local_day, slot=slot,
            subject="", recipient_count=0, requested_by=requested_by, created_at=now,
        )  # fmt: skip
        found = conn.execute(stmt.on_conflict_do_nothing().returning(alerts.c.id)).first()
        if found is not None:
            return "claimed", int(found[0]), slot
        other = for_article(conn, article_id)
        if other is not None:  # a concurrent send of the same article won
            return "duplicate", other.id, 0
        slot += 1  # a concurrent alert took this slot: try the next one
    return "full", None, 0


def record_over_cap(
    conn: Connection, *, article_id: str, title: str, local_day: str, requested_by: str,
    now: datetime,
) -> None:  # fmt: skip
    """Remember an automatic alert the cap refused, so the alert job does not retry it."""
    stmt = dialect_insert(conn)(alerts).values(
        article_id=article_id, title=title, status="over_cap", local_day=local_day, slot=None,
        subject="", recipient_count=0, requested_by=requested_by, created_at=now,
    )  # fmt: skip
    conn.execute(stmt.on_conflict_do_nothing())


def forget_over_cap(conn: Connection, article_id: str) -> None:
    """An editor sends an article the cap once refused: its refusal row makes way."""
    conn.execute(
        delete(alerts).where(alerts.c.article_id == article_id, alerts.c.status == "over_cap")
    )


def finish(conn: Connection, alert_id: int, *, subject: str, recipient_count: int) -> None:
    conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(subject=subject, recipient_count=recipient_count)
    )


def history(conn: Connection, *, limit: int = 50) -> list[AlertRow]:
    q = select(alerts).order_by(alerts.c.created_at.desc(), alerts.c.id.desc()).limit(limit)
    return [_row(r) for r in conn.execute(q)]


def recipients(conn: Connection) -> list[Recipient]:
    """Confirmed subscribers who opted in to alerts and whose address is not suppressed."""
    suppressed = select(suppressions.c.email).where(suppressions.c.scope == "all")
    q = (
        select(subscribers.c.id, subscribers.c.email, subscribers.c.name, subscribers.c.language)
        .where(
            subscribers.c.status == "confirmed",
            subscribers.c.alerts == 1,
            subscribers.c.email_key.not_in(suppressed),
        )
        .order_by(subscribers.c.id)
    )
    return [
        Recipient(id=i, email=e, name=n, sections=(), language=lang)
        for i, e, n, lang in conn.execute(q)
    ]


def marked_breaking(conn: Connection, *, since: datetime) -> list[str]:
    """Published articles an intake marked breaking since ``since`` with no alert row yet."""
    q = (
        select(articles.c.external_id)
        .where(
            articles.c.breaking_at >= since,
            articles.c.status == "published",
            articles.c.external_id.not_in(select(alerts.c.article_id)),
        )
        .order_by(articles.c.breaking_at, articles.c.id)
    )
    return [str(x) for x in conn.execute(q).scalars()]


def set_alerts(conn: Connection, subscriber_id: int, on: bool) -> None:
    """The reader's alert choice."""
    conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(alerts=1 if on else 0)
    )


def alerts_on(conn: Connection, subscriber_id: int) -> bool:
    value = conn.execute(
        select(subscribers.c.alerts).where(subscribers.c.id == subscriber_id)
    ).scalar()
    return bool(value)
