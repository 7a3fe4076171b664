"""Read-only counts for /metrics and `publisher status`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from publisher.store.schema import outbox, suppressions


def outbox_depth(conn: Connection) -> dict[str, int]:
    q = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    return {str(status): int(n) for status, n in conn.execute(q)}


def oldest_queued(conn: Connection) -> datetime | None:
    q = select(func.min(outbox.c.created_at)).where(outbox.c.status.in_(["queued", "deferred"]))
    value = conn.execute(q).scalar()
    if isinstance(value, str):  # SQLite returns min() of a datetime column as text
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return None


def suppression_counts(conn: Connection) -> dict[str, int]:
    q = select(suppressions.c.reason, func.count()).group_by(suppressions.c.reason)
    return {str(reason): int(n) for reason, n in conn.execute(q)}
