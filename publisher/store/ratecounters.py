"""Named queries for the rate counters: fixed windows counted in the database, shared by every
instance (sign-up and share limits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, text

from publisher.store.db import UTCDateTime
from publisher.store.schema import rate_counters

# Plain SQL that both SQLite (≥ 3.35) and PostgreSQL accept. SQLAlchemy cannot cache the
# compiled form of its dialect upserts, and compiling cost more than running it.
_BUMP = text(
    "INSERT INTO rate_counters (key, window_start, count) VALUES (:key, :window_start, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 "
    "RETURNING count"
).bindparams(bindparam("window_start", type_=UTCDateTime()))


def bump(conn: Connection, key: str, window_start: datetime) -> int:
    """Add one to a counter in the caller's transaction; returns the new count."""
    found = conn.execute(_BUMP, {"key": key, "window_start": window_start}).scalar_one()
    return int(found)


def current(conn: Connection, key: str, window_start: datetime) -> int:
    """A counter's value without adding to it (0 when it has no row): a refused attempt past
    the limit writes nothing, so a flood cannot grow the table."""
    found = conn.execute(
        select(rate_counters.c.count).where(
            rate_counters.c.key == key, rate_counters.c.window_start == window_start
        )
    ).scalar_one_or_none()
    return int(found or 0)


def clear(conn: Connection, key: str) -> int:
    """Forget a key's counts in every window (an admin lifting a sign-in lock)."""
    return conn.execute(delete(rate_counters).where(rate_counters.c.key == key)).rowcount


def prune_counters(conn: Connection, *, before: datetime) -> int:
    return conn.execute(delete(rate_counters).where(rate_counters.c.window_start < before)).rowcount
