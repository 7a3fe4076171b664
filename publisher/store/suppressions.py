"""Named queries for the suppression list (addresses we must not mail).

Rows are keyed by ``addresses.canonical``, so a suppression of ``Mixed@x`` stops ``mixed@x``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select

from publisher.core.addresses import canonical
from publisher.core.vocab import SuppressionReason, SuppressionScope
from publisher.store.db import dialect_insert
from publisher.store.schema import suppressions


@dataclass(frozen=True, slots=True)
class Suppression:
    email: str
    scope: SuppressionScope
    reason: str
    detail: str
    created_at: datetime


def add(
    conn: Connection,
    emails: Iterable[str],
    *,
    reason: str,
    now: datetime,
    detail: str = "",
    scope: SuppressionScope = "all",
) -> int:
    """Suppress addresses (by canonical key); one already listed keeps its first reason.

    ``reason`` is any text: the code writes a ``SuppressionReason``, an operator their own."""
    keys = dict.fromkeys(canonical(e) for e in emails)  # one row per key, even in one call
    rows = [
        {"email": e, "scope": scope, "reason": reason, "detail": detail, "created_at": now}
        for e in keys
    ]
    if not rows:
        return 0
    stmt = (
        dialect_insert(conn)(suppressions)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[suppressions.c.email, suppressions.c.scope])
    )
    return len(conn.execute(stmt.returning(suppressions.c.email)).all())


def remove(conn: Connection, email: str, *, scope: SuppressionScope = "all") -> bool:
    stmt = delete(suppressions).where(
        suppressions.c.email == canonical(email), suppressions.c.scope == scope
    )
    return bool(conn.execute(stmt).rowcount)


def list_all(conn: Connection, *, reason: str | None = None) -> list[Suppression]:
    q = select(suppressions).order_by(suppressions.c.created_at, suppressions.c.email)
    if reason:
        q = q.where(suppressions.c.reason == reason)
    return [
        Suppression(
            email=r.email, scope=r.scope, reason=r.reason, detail=r.detail or "",
            created_at=r.created_at,
        )
        for r in conn.execute(q)
    ]  # fmt: skip


_SUPPRESSED = select(suppressions.c.email).where(
    suppressions.c.email == bindparam("email"), suppressions.c.scope == bindparam("scope")
)


def is_suppressed(conn: Connection, email: str, scope: SuppressionScope) -> bool:
    found = conn.execute(_SUPPRESSED, {"email": canonical(email), "scope": scope}).first()
    return found is not None


def unsuppress(conn: Connection, email: str, *, reasons: Sequence[SuppressionReason]) -> None:
    """Lift the reader's own entries ("unsubscribed", "deleted") when they confirm again;
    bounces and complaints stay."""
    conn.execute(
        delete(suppressions).where(
            suppressions.c.email == canonical(email),
            suppressions.c.scope == "all",
            suppressions.c.reason.in_(list(reasons)),
        )
    )
