"""Holding a digest: its runs are skipped (and say so) until an operator resumes it.

A general mechanism: the complaint circuit breaker (inbound) holds a digest whose run passed
``complaint_hold_rate``; an operator holds or resumes one with ``publisher digest hold`` /
``resume``; the console will do the same. Each hold says why and who.
"""

from __future__ import annotations

from datetime import datetime

from publisher.store import holds as store_holds
from publisher.store.holds import Hold
from publisher.store.types import Connection, Engine

__all__ = ["Hold", "hold", "hold_in", "holding", "holding_of", "list_holds", "resume"]


def hold(engine: Engine, digest_id: str, *, reason: str, by: str, now: datetime) -> bool:
    """Hold ``digest_id``; False when it already was (the first reason stays)."""
    with engine.begin() as conn:
        return store_holds.hold(conn, digest_id, reason=reason, by=by, now=now)


def hold_in(conn: Connection, digest_id: str, *, reason: str, by: str, now: datetime) -> bool:
    """The same, in the caller's transaction (the inbound side holds with its effect)."""
    return store_holds.hold(conn, digest_id, reason=reason, by=by, now=now)


def resume(engine: Engine, digest_id: str) -> Hold | None:
    """Lift the hold; the hold that was lifted, or None when the digest was not held."""
    with engine.begin() as conn:
        found = store_holds.get(conn, digest_id)
        if found is not None:
            store_holds.release(conn, digest_id)
        return found


def holding(conn: Connection, digest_id: str) -> Hold | None:
    """The hold on a digest, read in the run's own transaction."""
    return store_holds.get(conn, digest_id)


def holding_of(engine: Engine, digest_id: str) -> Hold | None:
    """The hold on a digest, if any (for history, status and the API)."""
    with engine.connect() as conn:
        return store_holds.get(conn, digest_id)


def list_holds(engine: Engine) -> list[Hold]:
    with engine.connect() as conn:
        return store_holds.list_all(conn)
