"""Digest-run use cases for the web and CLI handlers: the run list and the archive."""

from __future__ import annotations

from datetime import datetime

from publisher.store import digest_runs
from publisher.store import events as store_events
from publisher.store.digest_runs import RunRow
from publisher.store.types import Connection, Engine

__all__ = ["RunRow", "list_runs", "record_sent", "run_archive", "run_history"]


def list_runs(engine: Engine, digest_id: str, *, limit: int = 50) -> list[RunRow]:
    """The digest's runs, newest first."""
    with engine.connect() as conn:
        return digest_runs.list_runs(conn, digest_id, limit=limit)


def run_archive(engine: Engine, digest_id: str, run_id: int) -> tuple[str, str] | None:
    """The archived (subject, html) of one run, or None."""
    with engine.connect() as conn:
        return digest_runs.run_archive(conn, digest_id, run_id)


def run_history(
    engine: Engine, digest_id: str, *, limit: int
) -> list[tuple[RunRow, dict[str, int]]]:
    """The digest's runs, newest first, each with its outbox rows per status."""
    with engine.connect() as conn:
        runs = digest_runs.list_runs(conn, digest_id, limit=limit)
        return [
            (r, digest_runs.outbox_counts(conn, digest_runs.dedupe_prefix(digest_id, r.id)))
            for r in runs
        ]


def record_sent(
    conn: Connection, *, digest_id: str, run_id: int, subject: str, recipients: int,
    items: int, now: datetime,
) -> None:  # fmt: skip
    """digest.run.sent, in the run's transaction: the issue is in the outbox for every
    recipient (the webhook receiver learns it once, whatever the delivery retries)."""
    data = {
        "digest_id": digest_id, "run_id": run_id, "subject": subject,
        "recipients": recipients, "items": items,
    }  # fmt: skip
    store_events.record_event(conn, "digest.run.sent", f"{digest_id}/{run_id}", data, now=now)
