"""Named queries for the consent log (append-only) and advertising consent per reader.

This module only ever INSERTs into ``consent_log``: there is no update or delete path, and
the migration adds triggers that refuse both. ``advertising_consent`` is ordinary state
(what the digest run and the reconfirmation job read); its changes are logged too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from publisher.core.vocab import ConsentChannel, ConsentEvent
from publisher.store.consentschema import advertising_consent, consent_log
from publisher.store.schema import subscribers


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the log as it is written and read."""

    address_hash: str
    subscriber_id: int | None
    event: ConsentEvent
    channel: ConsentChannel
    at: datetime
    recorded_at: datetime
    ip_hash: str | None = None
    text_version: str = ""
    advertising: bool = False
    detail: dict[str, Any] | None = None


def append(conn: Connection, entries: Sequence[Entry]) -> None:
    if not entries:
        return
    conn.execute(
        insert(consent_log),
        [
            {
                "address_hash": e.address_hash, "subscriber_id": e.subscriber_id,
                "event": e.event, "channel": e.channel, "at": e.at, "recorded_at": e.recorded_at,
                "ip_hash": e.ip_hash, "text_version": e.text_version,
                "advertising": 1 if e.advertising else 0,
                "detail": json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True),
            }
            for e in entries
        ],
    )  # fmt: skip


def _entry(r: Any) -> Entry:
    detail = json.loads(r.detail or "{}")
    return Entry(
        address_hash=r.address_hash, subscriber_id=r.subscriber_id, event=r.event,
        channel=r.channel, at=r.at, recorded_at=r.recorded_at, ip_hash=r.ip_hash,
        text_version=r.text_version, advertising=bool(r.advertising),
        detail=detail if isinstance(detail, dict) else {},
    )  # fmt: skip


def history(conn: Connection, address_hash: str) -> list[Entry]:
    q = select(consent_log).where(consent_log.c.address_hash == address_hash)
    return [_entry(r) for r in conn.execute(q.order_by(consent_log.c.id))]


def iter_all(conn: Connection, *, batch: int = 1000) -> Iterator[Entry]:
    """Every row in id order, a batch at a time (bounded memory for a large log)."""
    last = 0
    while True:
        rows = conn.execute(
            select(consent_log).where(consent_log.c.id > last).order_by(consent_log.c.id)
            .limit(batch)
        ).all()  # fmt: skip
        if not rows:
            return
        for r in rows:
            yield _entry(r)
        last = int(rows[-1].id)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(consent_log)).scalar_one())


# --- advertising consent -------------------------------------------------------------------


def set_consented(conn: Connection, subscriber_id: int, *, at: datetime) -> None:
    """Consent (given, confirmed or reconfirmed) at ``at``: any ask or lapse is over."""
    conn.execute(
        delete(advertising_consent).where(advertising_consent.c.subscriber_id == subscriber_id)
    )
    conn.execute(insert(advertising_consent).values(subscriber_id=subscriber_id, consented_at=at))


def _since() -> Any:
    return func.coalesce(advertising_consent.c.consented_at, subscribers.c.confirmed_at)


def due_for_ask(conn: Connection, *, older_than: datetime, limit: int) -> list[tuple[int, str]]:
    """Confirmed readers whose advertising consent dates from before ``older_than`` and who
    were not asked since: (id, email)."""
    q = (
        select(subscribers.c.id, subscribers.c.email)
        .select_from(subscribers.outerjoin(
            advertising_consent, advertising_consent.c.subscriber_id == subscribers.c.id))
        .where(
            subscribers.c.status == "confirmed",
            _since() < older_than,
            advertising_consent.c.asked_at.is_(None),
            advertising_consent.c.lapsed_at.is_(None),
        )
        .order_by(subscribers.c.id)
        .limit(limit)
    )  # fmt: skip
    return [(int(i), str(e)) for i, e in conn.execute(q)]


def mark_asked(conn: Connection, subscriber_id: int, *, now: datetime) -> None:
    """Record the ask; a reader with no row yet keeps the date they consented on."""
    found = conn.execute(
        select(advertising_consent.c.subscriber_id).where(
            advertising_consent.c.subscriber_id == subscriber_id
        )
    ).first()
    if found is None:
        since = conn.execute(
            select(subscribers.c.confirmed_at, subscribers.c.created_at).where(
                subscribers.c.id == subscriber_id
            )
        ).one()
        conn.execute(
            insert(advertising_consent).values(
                subscriber_id=subscriber_id, consented_at=since[0] or since[1], asked_at=now
            )
        )
        return
    conn.execute(
        update(advertising_consent)
        .where(advertising_consent.c.subscriber_id == subscriber_id)
        .values(asked_at=now)
    )


def due_for_lapse(conn: Connection, *, asked_before: datetime) -> list[tuple[int, str]]:
    """Readers asked before ``asked_before`` who did not answer: (id, email)."""
    q = (
        select(subscribers.c.id, subscribers.c.email)
        .join(advertising_consent, advertising_consent.c.subscriber_id == subscribers.c.id)
        .where(
            advertising_consent.c.asked_at < asked_before,
            advertising_consent.c.lapsed_at.is_(None),
        )
        .order_by(subscribers.c.id)
    )
    return [(int(i), str(e)) for i, e in conn.execute(q)]


def mark_lapsed(conn: Connection, ids: Sequence[int], *, now: datetime) -> None:
    if ids:
        conn.execute(
            update(advertising_consent)
            .where(advertising_consent.c.subscriber_id.in_(list(ids)))
            .values(lapsed_at=now)
        )


def has_lapsed(conn: Connection, subscriber_id: int) -> bool:
    """Whether this reader's advertising consent lapsed (and was not given again since)."""
    q = select(advertising_consent.c.subscriber_id).where(
        advertising_consent.c.subscriber_id == subscriber_id,
        advertising_consent.c.lapsed_at.is_not(None),
    )
    return conn.execute(q).first() is not None


def lapsed_ids(conn: Connection) -> set[int]:
    """Readers advertising mail must not reach (their consent lapsed)."""
    q = select(advertising_consent.c.subscriber_id).where(
        advertising_consent.c.lapsed_at.is_not(None)
    )
    return {int(i) for (i,) in conn.execute(q)}
