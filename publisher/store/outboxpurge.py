"""Purging the outbox: finished rows in batches of the primary key, then unused contents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from publisher.store.outbox import FINAL
from publisher.store.schema import contents, outbox

PURGE_BATCH = 5000


def last_id(conn: Connection) -> int:
    """The highest outbox id (0 when empty): where a purge stops."""
    return int(conn.execute(select(func.max(outbox.c.id))).scalar() or 0)


def range_end(conn: Connection, *, after_id: int, span: int, last: int) -> int | None:
    """The id that closes the next range of ``span`` rows after ``after_id`` (``last`` when
    fewer are left); None when no row is left up to ``last``. Ranges count rows, not ids, so
    a purge costs what is there to walk however high the ids have climbed (a site's ids grow
    by its list size every day; a walk from id 0 in id steps would grow with them)."""
    q = select(outbox.c.id).where(outbox.c.id > after_id).order_by(outbox.c.id)
    end = conn.execute(q.offset(span - 1).limit(1)).scalar()
    if end is not None and int(end) < last:
        return int(end)
    return last if after_id < last and conn.execute(q.limit(1)).scalar() is not None else None


def ranges(conn: Connection, *, last: int, span: int) -> Iterator[tuple[int, int]]:
    """(after id, end id] ranges of ``span`` rows up to ``last``, found as the walk goes."""
    after = 0
    while (end := range_end(conn, after_id=after, span=span, last=last)) is not None:
        yield after, end
        after = end


def purge_batch(conn: Connection, *, before: datetime, after_id: int, span: int) -> int:
    """Delete the finished rows last touched before ``before`` among ids ``after_id + 1`` to
    ``after_id + span``; returns how many.

    A range of the primary key, one statement: a purge walks the table once, in order, and
    each batch costs the same however many rows are left (a query for "the next n finished
    rows" would read the status index past the ones already deleted, and sort).
    """
    stmt = delete(outbox).where(
        outbox.c.id > after_id,
        outbox.c.id <= after_id + span,
        # ``status || ''``, not ``status``: SQLite's planner (no statistics) took a status
        # index over the id range and, in every batch, walked all the finished rows left in
        # the table: a purge grew with the square of the rows (a million: 34 s). The status
        # indexes are partial since 0019, but the ended rows' one would serve the same term.
        outbox.c.status.concat("").in_(FINAL),
        outbox.c.updated_at < before,
    )
    return int(conn.execute(stmt).rowcount)


def purge_contents(conn: Connection, *, before: datetime) -> int:
    """Delete contents created before ``before`` that no outbox row points at."""
    used = select(outbox.c.content_id).distinct()
    return int(
        conn.execute(
            delete(contents).where(contents.c.created_at < before, contents.c.id.not_in(used))
        ).rowcount
    )


def purge(conn: Connection, *, before: datetime) -> tuple[int, int]:
    """Delete finished rows last touched before ``before``, then contents nobody points at,
    all in the caller's transaction (outboxstatus.purge commits batch by batch instead)."""
    rows = 0
    for after, end in list(ranges(conn, last=last_id(conn), span=PURGE_BATCH)):
        rows += purge_batch(conn, before=before, after_id=after, span=end - after)
    return rows, purge_contents(conn, before=before)
