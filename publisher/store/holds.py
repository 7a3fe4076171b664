"""Named queries for digest holds: a held digest's runs are skipped until it is resumed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from publisher.store.db import dialect_insert
from publisher.store.inboundschema import digest_holds


@dataclass(frozen=True, slots=True)
class Hold:
    digest_id: str
    reason: str
    held_by: str
    created_at: datetime


def hold(conn: Connection, digest_id: str, *, reason: str, by: str, now: datetime) -> bool:
    """Hold a digest; an existing hold keeps its first reason. True when newly held."""
    stmt = (
        dialect_insert(conn)(digest_holds)
        .values(digest_id=digest_id, reason=reason[:2000], held_by=by[:200], created_at=now)
        .on_conflict_do_nothing(index_elements=[digest_holds.c.digest_id])
    )
    return conn.execute(stmt.returning(digest_holds.c.digest_id)).first() is not None


def release(conn: Connection, digest_id: str) -> bool:
    return bool(
        conn.execute(delete(digest_holds).where(digest_holds.c.digest_id == digest_id)).rowcount
    )


def get(conn: Connection, digest_id: str) -> Hold | None:
    r = conn.execute(select(digest_holds).where(digest_holds.c.digest_id == digest_id)).first()
    if r is None:
        return None
    return Hold(digest_id=r.digest_id, reason=r.reason, held_by=r.held_by, created_at=r.created_at)


def list_all(conn: Connection) -> list[Hold]:
    q = select(digest_holds).order_by(digest_holds.c.created_at)
    return [
        Hold(digest_id=r.digest_id, reason=r.reason, held_by=r.held_by, created_at=r.created_at)
        for r in conn.execute(q)
    ]
