"""Read-only counts for /metrics and `publisher status`."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, func, select

from publisher.store.outbox import oldest_queued, status_counts
from publisher.store.schema import suppressions

__all__ = ["oldest_queued", "outbox_depth", "suppression_counts"]


def outbox_depth(conn: Connection) -> dict[str, int]:
    depth: Counter[str] = Counter()
    for status, _kind, n in status_counts(conn):
        depth[status] += n
    return dict(depth)


def suppression_counts(conn: Connection) -> dict[str, int]:
    q = select(suppressions.c.reason, func.count()).group_by(suppressions.c.reason)
    return {str(reason): int(n) for reason, n in conn.execute(q)}
