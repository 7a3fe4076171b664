"""Pending subscribers an operator imported: marked, asked to confirm, kept until asked.

A web sign-up is asked to confirm at once, so an unanswered one may be forgotten after a
while. An imported pending row was asked nothing: purging it would silently lose the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from publisher.store.schema import subscribers

SIGNUP = "signup"
IMPORT = "import"
_CHUNK = 500


def mark_imported(conn: Connection, emails: Sequence[str]) -> None:
    """Pending rows an import or the CLI wrote: kept until someone asks them to confirm."""
    for start in range(0, len(emails), _CHUNK):
        conn.execute(
            update(subscribers)
            .where(
                subscribers.c.email.in_(list(emails[start : start + _CHUNK])),
                subscribers.c.status == "pending",
            )
            .values(origin=IMPORT)
        )


def mark_asked(conn: Connection, subscriber_id: int, *, now: datetime) -> None:
    """A confirmation was queued for this row (by an import or the form)."""
    conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(confirm_asked_at=now)
    )


def unasked(conn: Connection, emails: Sequence[str]) -> list[str]:
    """Those of ``emails`` that are pending and were never asked (by an import or the form)."""
    found: list[str] = []
    for start in range(0, len(emails), _CHUNK):
        q = select(subscribers.c.email).where(
            subscribers.c.email.in_(list(emails[start : start + _CHUNK])),
            subscribers.c.status == "pending",
            subscribers.c.confirm_asked_at.is_(None),
        )
        found.extend(str(e) for e in conn.execute(q).scalars())
    return sorted(found)


def expired(before: datetime) -> ColumnElement[bool]:
    """Pending rows that were asked to confirm before ``before`` and never answered.

    An imported row counts as asked from the last confirmation queued for it, by an import
    or by the sign-up form (``mark_asked``). Until migration 0022 the form's ask was found by
    comparing the reader's address with the outbox's recipients: a read of the whole outbox
    each night, and blind to a reader whose domain is an IDN (the outbox holds its punycode).
    """
    return and_(
        subscribers.c.status == "pending",
        or_(
            and_(subscribers.c.origin != IMPORT, subscribers.c.created_at < before),
            and_(subscribers.c.origin == IMPORT, subscribers.c.confirm_asked_at < before),
        ),
    )
