"""Named queries for subscribers, their sections and the suppression list.

Every lookup is by ``addresses.canonical``: the address as typed is kept for display and
delivery, but ``Victim@x`` and ``victim@x`` are one subscriber and one suppression.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select, update

from publisher.core.addresses import canonical
from publisher.core.models import Subscriber
from publisher.core.vocab import (
    SubscriberFrequency,
    SubscriberStatus,
    SuppressionReason,
    SuppressionScope,
)
from publisher.store.schema import subscriber_aliases, subscribers, subscriptions, suppressions

Outcome = Literal["added", "updated", "unchanged"]
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Recipient:
    """A confirmed, unsuppressed subscriber as a digest run needs it."""

    id: int
    email: str
    name: str
    sections: tuple[str, ...]
    language: str | None


def _sections_of(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        q = (
            select(subscriptions.c.subscriber_id, subscriptions.c.section)
            .where(subscriptions.c.subscriber_id.in_(ids[start : start + _CHUNK]))
            .order_by(subscriptions.c.subscriber_id, subscriptions.c.section)
        )
        for sid, section in conn.execute(q):
            found[int(sid)].append(str(section))
    return {k: tuple(v) for k, v in found.items()}


def _model(r: Any, sections: tuple[str, ...]) -> Subscriber:
    return Subscriber(
        id=r.id, email=r.email, name=r.name, status=r.status, frequency=r.frequency,
        sections=sections, created_at=r.created_at, confirmed_at=r.confirmed_at,
        alerts=bool(r.alerts),
    )  # fmt: skip


def get_by_email(conn: Connection, email: str) -> Subscriber | None:
    r = conn.execute(select(subscribers).where(subscribers.c.email_key == canonical(email))).first()
    if r is None:
        return None
    return _model(r, _sections_of(conn, [r.id]).get(r.id, ()))


def upsert(
    conn: Connection,
    *,
    email: str,
    name: str,
    sections: Sequence[str],
    frequency: SubscriberFrequency,
    status: SubscriberStatus,
    now: datetime,
    language: str | None = None,
) -> Outcome:
    """Insert or update by email, with the section choice replaced as a whole."""
    old = get_by_email(conn, email)
    wanted = tuple(sorted(set(sections)))
    confirmed_at = now if status == "confirmed" else None
    if old is None:
        pk = conn.execute(
            insert(subscribers).values(
                email=email,
                email_key=canonical(email),
                name=name,
                status=status,
                frequency=frequency,
                language=language,
                created_at=now,
                confirmed_at=confirmed_at,
            )
        ).inserted_primary_key
        assert pk is not None
        sid = int(pk[0])
        if wanted:
            conn.execute(
                insert(subscriptions), [{"subscriber_id": sid, "section": s} for s in wanted]
            )
        return "added"
    same = (old.name, old.status, old.frequency, old.sections) == (
        name, status, frequency, wanted,
    )  # fmt: skip
    if same:
        return "unchanged"
    values: dict[str, Any] = {"name": name, "status": status, "frequency": frequency}
    if status == "confirmed" and old.confirmed_at is None:
        values["confirmed_at"] = now
    if status != old.status:  # an operator's change ends any pending confirmation request
        values.update(confirm_nonce=None, pending_choice=None)
    conn.execute(update(subscribers).where(subscribers.c.id == old.id).values(**values))
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == old.id))
    if wanted:
        conn.execute(
            insert(subscriptions), [{"subscriber_id": old.id, "section": s} for s in wanted]
        )
    return "updated"


def insert_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk load (bench, migrations from another tool): rows carry a ``sections`` tuple."""
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        conn.execute(
            insert(subscribers),
            [
                {"email_key": canonical(r["email"])}
                | {k: v for k, v in r.items() if k != "sections"}
                for r in chunk
            ],
        )
        ids: dict[str, int] = {
            str(e): int(i)
            for e, i in conn.execute(
                select(subscribers.c.email, subscribers.c.id).where(
                    subscribers.c.email.in_([r["email"] for r in chunk])
                )
            )
        }
        subs = [
            {"subscriber_id": ids[r["email"]], "section": s} for r in chunk for s in r["sections"]
        ]
        if subs:
            conn.execute(insert(subscriptions), subs)


def remove(conn: Connection, email: str) -> bool:
    """Delete a subscriber and their section choice. False when unknown."""
    found = get_by_email(conn, email)
    if found is None:
        return False
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == found.id))
    return conn.execute(delete(subscribers).where(subscribers.c.id == found.id)).rowcount > 0


def iter_subscribers(
    conn: Connection, *, status: SubscriberStatus | None = None, limit: int | None = None
) -> Iterator[Subscriber]:
    q = select(subscribers).order_by(subscribers.c.id)
    if status is not None:
        q = q.where(subscribers.c.status == status)
    if limit is not None:
        q = q.limit(limit)
    rows = conn.execute(q).all()
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        sections = _sections_of(conn, [r.id for r in chunk])
        for r in chunk:
            yield _model(r, sections.get(r.id, ()))


def recipients(conn: Connection, *, frequency: SubscriberFrequency) -> list[Recipient]:
    """Confirmed subscribers of ``frequency`` whose address is not suppressed (scope all)."""
    return list(iter_recipients(conn, frequency=frequency))


def iter_recipients(
    conn: Connection, *, frequency: SubscriberFrequency, batch: int = 2000
) -> Iterator[Recipient]:
    """``recipients`` streamed in id order, ``batch`` rows fetched at a time (a server-side
    cursor on PostgreSQL), so a million-reader run never holds the list.

    The caller may write on ``conn`` between items (the digest run enqueues as it reads).
    """
    suppressed = select(suppressions.c.email).where(suppressions.c.scope == "all")
    # One outer join in id order, folded here: the cheapest shape on both backends.
    q = (
        select(
            subscribers.c.id,
            subscribers.c.email,
            subscribers.c.name,
            subscribers.c.language,
            subscriptions.c.section,
        )
        .select_from(
            subscribers.outerjoin(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
        )
        .where(
            subscribers.c.status == "confirmed",
            subscribers.c.frequency == frequency,
            subscribers.c.email_key.not_in(suppressed),
        )
        .order_by(subscribers.c.id, subscriptions.c.section)
        .execution_options(yield_per=batch)
    )
    current: tuple[int, str, str, str | None] | None = None
    chosen: list[str] = []
    for sid, email, name, language, section in conn.execute(q):
        if current is None or current[0] != sid:
            if current is not None:
                yield Recipient(*current[:3], sections=tuple(chosen), language=current[3])
            current, chosen = (sid, email, name, language), []
        if section is not None:
            chosen.append(section)
    if current is not None:
        yield Recipient(*current[:3], sections=tuple(chosen), language=current[3])


def suppress(
    conn: Connection,
    *,
    email: str,
    reason: SuppressionReason,
    now: datetime,
    scope: SuppressionScope = "all",
) -> None:
    """List an address (by its canonical key); one already listed keeps its first reason,
    except that a reader who deletes their data after unsubscribing is recorded as ``deleted``
    (the stronger of the reader's own requests, and the one the README promises)."""
    email = canonical(email)
    exists = conn.execute(
        select(suppressions.c.reason).where(
            suppressions.c.email == email, suppressions.c.scope == scope
        )
    ).first()
    if exists is not None and exists.reason == "unsubscribed" and reason == "deleted":
        conn.execute(
            update(suppressions)
            .where(suppressions.c.email == email, suppressions.c.scope == scope)
            .values(reason=reason, created_at=now)
        )
    if exists is None:
        conn.execute(
            insert(suppressions).values(
                email=email, scope=scope, reason=reason, detail="", created_at=now
            )
        )


def subscriber_by_id(
    conn: Connection, subscriber_id: int, *, issued: datetime | None
) -> Subscriber | None:
    """The subscriber a link issued at ``issued`` names: by id, or by an id merged into another
    one (migration 0008) for links already mailed. ``issued=None``: by id alone (an operator).

    A row created after the link was issued is someone else: SQLite hands a deleted (or
    purged) subscriber's id to the next sign-up, and the old reader's links must not act on
    them. Tokens carry whole seconds, so the row's time is compared to the second.
    """
    row = conn.execute(
        select(subscribers.c.email, subscribers.c.created_at).where(
            subscribers.c.id == subscriber_id
        )
    ).first()
    email = row.email if row is not None and _before(row.created_at, issued) else None
    if email is None:
        email = conn.execute(
            select(subscribers.c.email)
            .join(subscriber_aliases, subscriber_aliases.c.subscriber_id == subscribers.c.id)
            .where(subscriber_aliases.c.old_id == subscriber_id)
        ).scalar()
    return None if email is None else get_by_email(conn, str(email))


def _before(created_at: datetime | None, issued: datetime | None) -> bool:
    if created_at is None or issued is None:
        return True
    return created_at.replace(microsecond=0) <= issued


def set_status(
    conn: Connection, subscriber_id: int, status: SubscriberStatus, *, now: datetime
) -> None:
    """A new status ends any pending confirmation request (its token stops working)."""
    values: dict[str, Any] = {"status": status, "confirm_nonce": None, "pending_choice": None}
    if status == "confirmed":
        values.update(confirmed_at=now, unsubscribed_at=None)
    elif status == "unsubscribed":
        values["unsubscribed_at"] = now
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(**values))


def set_choice(
    conn: Connection, subscriber_id: int, *, sections: Sequence[str],
    frequency: SubscriberFrequency, name: str | None = None, language: str | None = None,
) -> None:  # fmt: skip
    values: dict[str, Any] = {"frequency": frequency}
    if name is not None:
        values["name"] = name
    if language is not None:
        values["language"] = language
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(**values))
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id))
    wanted = sorted(set(sections))
    if wanted:
        conn.execute(
            insert(subscriptions), [{"subscriber_id": subscriber_id, "section": s} for s in wanted]
        )


@dataclass(frozen=True, slots=True)
class Pending:
    """A confirmation request: the nonce its token carries and the choice it asked for."""

    nonce: int
    choice: dict[str, Any] | None  # None: the row itself holds the choice (a new sign-up)


def set_pending(
    conn: Connection, subscriber_id: int, *, nonce: int, choice: dict[str, Any] | None
) -> None:
    """Record the one pending request (replacing an older one, whose token then fails)."""
    held = None if choice is None else json.dumps(choice, ensure_ascii=False, sort_keys=True)
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(confirm_nonce=nonce, pending_choice=held)
    )


def pending(conn: Connection, subscriber_id: int) -> Pending | None:
    r = conn.execute(
        select(subscribers.c.confirm_nonce, subscribers.c.pending_choice).where(
            subscribers.c.id == subscriber_id
        )
    ).first()
    if r is None or r.confirm_nonce is None:
        return None
    choice = json.loads(r.pending_choice) if r.pending_choice else None
    return Pending(int(r.confirm_nonce), choice if isinstance(choice, dict) else None)


def delete_subscriber(conn: Connection, subscriber_id: int) -> None:
    conn.execute(
        delete(subscriber_aliases).where(subscriber_aliases.c.subscriber_id == subscriber_id)
    )
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id))
    conn.execute(delete(subscribers).where(subscribers.c.id == subscriber_id))
