"""Named queries for digest runs: claim a run key once, finish it, list history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from publisher.core.vocab import RunStatus
from publisher.store.db import dialect_insert
from publisher.store.outboxsql import of_prefix
from publisher.store.schema import contents, digest_runs, outbox

# Statuses after which the next window starts at this run's end.
# A run waiting for approval, held by an editor or skipped at its deadline advances too: its
# articles were offered once, and the next run must not offer them again.
ADVANCING: tuple[RunStatus, ...] = (
    "running", "enqueued", "stale", "awaiting_approval", "held", "skipped",
)  # fmt: skip
# Runs that took their window (a manual run starts after the last of these: what was skipped
# as stale has not been sent yet). One awaiting approval may still send its window; one an
# editor rejected, or whose approval deadline skipped it, was decided against: its articles
# are not offered again.
SENDING: tuple[RunStatus, ...] = ("running", "enqueued", "awaiting_approval", "held", "skipped")


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    digest_id: str
    window_start: datetime
    window_end: datetime
    due_at: datetime
    status: RunStatus
    item_count: int
    most_viewed_count: int
    variant_count: int
    recipient_count: int
    subject: str
    note: str
    created_at: datetime
    approval_deadline: datetime | None = None
    on_deadline: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


def _row(r: Any) -> RunRow:
    return RunRow(
        id=r.id, digest_id=r.digest_id, window_start=r.window_start, window_end=r.window_end,
        due_at=r.due_at, status=r.status, item_count=r.item_count,
        most_viewed_count=r.most_viewed_count, variant_count=r.variant_count,
        recipient_count=r.recipient_count, subject=r.subject, note=r.note,
        created_at=r.created_at, approval_deadline=r.approval_deadline,
        on_deadline=r.on_deadline, decided_by=r.decided_by, decided_at=r.decided_at,
    )  # fmt: skip


def last_window_end(
    conn: Connection, digest_id: str, statuses: tuple[RunStatus, ...] = ADVANCING
) -> datetime | None:
    q = select(func.max(digest_runs.c.window_end)).where(
        digest_runs.c.digest_id == digest_id, digest_runs.c.status.in_(statuses)
    )
    value = conn.execute(q).scalar()
    return value if isinstance(value, datetime) else None


def get_run(conn: Connection, digest_id: str, window_end: datetime) -> RunRow | None:
    q = select(digest_runs).where(
        digest_runs.c.digest_id == digest_id, digest_runs.c.window_end == window_end
    )
    r = conn.execute(q).first()
    return None if r is None else _row(r)


def claim(
    conn: Connection,
    *,
    digest_id: str,
    window_start: datetime,
    window_end: datetime,
    due_at: datetime,
    status: RunStatus,
    now: datetime,
    note: str = "",
) -> int | None:
    """Insert the run key; None when it already exists (the constraint decides, not a read)."""
    insert_fn = dialect_insert(conn)
    stmt = insert_fn(digest_runs).values(
        digest_id=digest_id, window_start=window_start, window_end=window_end, due_at=due_at,
        status=status, item_count=0, most_viewed_count=0, variant_count=0, recipient_count=0,
        subject="", archive_html="", note=note, created_at=now,
    )  # fmt: skip
    stmt = stmt.on_conflict_do_nothing(
        index_elements=[digest_runs.c.digest_id, digest_runs.c.window_end]
    )
    found = conn.execute(stmt.returning(digest_runs.c.id)).first()
    return None if found is None else int(found[0])


def finish(conn: Connection, run_id: int, **values: Any) -> None:
    conn.execute(update(digest_runs).where(digest_runs.c.id == run_id).values(**values))


def archive_html(conn: Connection, run_id: int) -> str | None:
    value = conn.execute(
        select(digest_runs.c.archive_html).where(digest_runs.c.id == run_id)
    ).scalar()
    return None if value is None else str(value)


def list_runs(conn: Connection, digest_id: str, *, limit: int = 50) -> list[RunRow]:
    q = (
        select(digest_runs)
        .where(digest_runs.c.digest_id == digest_id)
        .order_by(digest_runs.c.window_end.desc())
        .limit(limit)
    )
    return [_row(r) for r in conn.execute(q)]


def dedupe_prefix(digest_id: str, run_id: int) -> str:
    """What every outbox dedupe key of one run starts with, and every key of the contents its
    rows point at (``outbox_counts`` finds a run's rows through them)."""
    return f"digest:{digest_id}:{run_id}:"


def outbox_counts(conn: Connection, dedupe_prefix: str) -> dict[str, int]:
    """A run's outbox rows by status: rows whose dedupe key starts with ``dedupe_prefix``, on
    contents whose key starts with it too, as every run stores them (``outboxsql.of_prefix``)."""
    q = (
        select(outbox.c.status, func.count())
        .where(of_prefix(dedupe_prefix))
        .group_by(outbox.c.status)
    )
    return {str(s): int(n) for s, n in conn.execute(q)}


def run_archive(conn: Connection, digest_id: str, run_id: int) -> tuple[str, str] | None:
    """(subject, archive html) of a run of this digest that has an archive copy."""
    r = conn.execute(
        select(digest_runs.c.subject, digest_runs.c.archive_html).where(
            digest_runs.c.id == run_id, digest_runs.c.digest_id == digest_id
        )
    ).first()
    if r is None or not r.archive_html:
        return None
    return str(r.subject), str(r.archive_html)


# --- approval (issue 15) ---


def run_by_id(conn: Connection, run_id: int) -> RunRow | None:
    r = conn.execute(select(digest_runs).where(digest_runs.c.id == run_id)).first()
    return None if r is None else _row(r)


def runs_in_state(conn: Connection, status: RunStatus, *, limit: int = 100) -> list[RunRow]:
    """Runs of every digest in one state, oldest due first (the queue an editor works on)."""
    q = (
        select(digest_runs)
        .where(digest_runs.c.status == status)
        .order_by(digest_runs.c.due_at, digest_runs.c.id)
        .limit(limit)
    )
    return [_row(r) for r in conn.execute(q)]


def past_deadline(conn: Connection, now: datetime) -> list[RunRow]:
    """Runs still awaiting approval whose deadline has come."""
    q = (
        select(digest_runs)
        .where(
            digest_runs.c.status == "awaiting_approval",
            digest_runs.c.approval_deadline <= now,
        )
        .order_by(digest_runs.c.approval_deadline, digest_runs.c.id)
    )
    return [_row(r) for r in conn.execute(q)]


def decide(
    conn: Connection, run_id: int, *, to: RunStatus, by: str, now: datetime, note: str = ""
) -> bool:
    """Move a run out of ``awaiting_approval``; False when it is no longer waiting (another
    editor or the deadline decided first: the conditional update decides, not a read)."""
    values: dict[str, Any] = {"status": to, "decided_by": by, "decided_at": now}
    if note:
        values["note"] = note
    done = conn.execute(
        update(digest_runs)
        .where(digest_runs.c.id == run_id, digest_runs.c.status == "awaiting_approval")
        .values(**values)
    )
    return done.rowcount == 1


def contents_of_run(conn: Connection, digest_id: str, run_id: int) -> dict[str, bytes]:
    """The stored variants of a run: {content key: message bytes}."""
    prefix = dedupe_prefix(digest_id, run_id)
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    q = select(contents.c.key, contents.c.body).where(contents.c.key.like(pattern, escape="\\"))
    return {str(k): bytes(b) for k, b in conn.execute(q)}
