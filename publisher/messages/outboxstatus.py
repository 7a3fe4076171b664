"""Outbox use cases for the web and CLI handlers: depth, status, retry, purge."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from publisher.core.vocab import OutboxKind
from publisher.messages.bulk import after_bulk
from publisher.store import outbox as store_outbox
from publisher.store import outboxpurge as store_purge
from publisher.store.stats import Held as Held  # what OutboxSummary.held is, for the CLI
from publisher.store.stats import held_queued
from publisher.store.stats import outbox_depth as _outbox_depth
from publisher.store.types import Engine


def outbox_depth(engine: Engine) -> dict[str, int]:
    """Outbox rows per status."""
    with engine.connect() as conn:
        return _outbox_depth(conn)


@dataclass(frozen=True)
class OutboxSummary:
    """Rows per (status, kind), the oldest queued, the next retry, top deferral reasons, and
    the queued rows held for a later time (the quiet hours) rather than due now."""

    rows: list[tuple[str, str, int]]
    oldest_queued: datetime | None
    next_retry: datetime | None
    top_deferral_reasons: list[tuple[str, int]]
    held: Held


def outbox_status(engine: Engine, *, now: datetime) -> OutboxSummary:
    """The outbox at a glance, read in one connection."""
    with engine.connect() as conn:
        return OutboxSummary(
            rows=store_outbox.status_counts(conn),
            oldest_queued=store_outbox.oldest_queued(conn),
            next_retry=store_outbox.next_retry(conn),
            top_deferral_reasons=store_outbox.top_deferral_reasons(conn),
            held=held_queued(conn, now=now),
        )


def requeue_failed(
    engine: Engine, *, kind: OutboxKind | None, now: datetime, expires_at: dict[str, datetime]
) -> int:
    """Put failed messages back in the queue; how many."""
    with engine.begin() as conn:
        n = store_outbox.requeue_failed(conn, kind=kind, now=now, expires_at=expires_at)
    after_bulk(engine, n)  # a retry of a whole failed send queues as much as a digest run
    return n


def purge(
    engine: Engine,
    *,
    before: datetime,
    batch: int = store_purge.PURGE_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Delete finished rows older than `before` and unused contents: (rows, contents).

    One transaction per ``batch`` rows (a range of ids holding that many), so a purge of a
    million rows never holds the write lock for long: drains claim and mark between batches.
    SQLite's lock is not fair (a waiting writer polls), so there each batch is followed by a
    pause of an eighth of its own time, a window the others' next try falls into.
    ``on_batch`` gets the rows deleted so far after each commit that deleted some.
    """
    with engine.connect() as conn:
        top = store_purge.last_id(conn)
    rows = after = 0
    yielding = engine.dialect.name == "sqlite"
    while True:
        started = time.monotonic()
        # Read apart from the write: on SQLite a transaction that reads, then writes, fails
        # at once (not after busy_timeout) when another writer committed in between.
        with engine.connect() as conn:
            end = store_purge.range_end(conn, after_id=after, span=batch, last=top)
        if end is None:
            break
        with engine.begin() as conn:
            deleted = store_purge.purge_batch(conn, before=before, after_id=after, span=end - after)
        after = end
        rows += deleted
        if on_batch is not None and deleted:
            on_batch(rows)
        if yielding:
            time.sleep((time.monotonic() - started) / 8)
    with engine.begin() as conn:
        return rows, store_purge.purge_contents(conn, before=before)


def queued_count(engine: Engine) -> int:
    """How many outbox rows are queued (due now or later)."""
    with engine.connect() as conn:
        return sum(n for s, _k, n in store_outbox.status_counts(conn) if s in ("queued",))
