"""Named queries for stored contents and outbox rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from publisher.core.addresses import canonical
from publisher.core.vocab import OutboxKind, OutboxStatus, SuppressionScope
from publisher.store import outboxsql as sql
from publisher.store.db import StoreError, dialect_insert, failure_line, is_postgres
from publisher.store.schema import contents, outbox

_CHUNK = 1000

# Errors a retry can outlive: a lost connection (PostgreSQL restart), a full disk, a locked or
# read-only SQLite file. Not IntegrityError and the like: those are bugs and must surface.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def put_content(conn: Connection, *, key: str, kind: OutboxKind, body: bytes, now: datetime) -> int:
    """Store a body once under ``key``; a second call with the same key returns the first id."""
    stmt = dialect_insert(conn)(contents).values(key=key, kind=kind, body=body, created_at=now)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[contents.c.key]))
    found = conn.execute(select(contents.c.id).where(contents.c.key == key)).scalar_one()
    return int(found)


def get_content(conn: Connection, content_id: int) -> bytes:
    return bytes(
        conn.execute(select(contents.c.body).where(contents.c.id == content_id)).scalar_one()
    )


# --- claiming and marking (the drain) ---


_CLAIMABLE: tuple[OutboxStatus, ...] = ("queued", "deferred")
FINAL = sql.FINAL


class ClaimedRow(NamedTuple):
    """A leased row as the claim returns it: a plain tuple (no per-row dict), in this order."""

    id: int
    kind: OutboxKind
    recipient: str
    content_id: int
    substitutions: str | None  # JSON {placeholder: value}
    message_id: str
    attempts: int
    expires_at: datetime


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    host: str | None = None,
    process: str | None = None,
) -> list[ClaimedRow]:
    """Lease up to ``limit`` due rows (and other drains' rows whose lease ran out) to ``owner``.

    One ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`` per range (on PostgreSQL
    ``id = ANY(ARRAY(SELECT …))``, outboxsql.claim_statements): a single round trip, no id
    list sent back and forth. PostgreSQL: the inner select locks its rows FOR UPDATE SKIP
    LOCKED, so concurrent drains never take the same row. SQLite has one writer.
    One range per status, each on its partial index (migration 0018), never a scan past sent
    rows or, on PostgreSQL, past the dead versions of rows already claimed.
    A drain never gets back a row it already holds, even when that lease ran out: the row
    is still in its memory and would go out twice.
    """
    params = {
        "owner": owner, "now": now, "lease_until": lease_until, "host": host, "process": process,
    }  # fmt: skip
    rows: list[ClaimedRow] = []
    for stmt in sql.claim_statements(conn.dialect.name == "postgresql"):
        if len(rows) >= limit:
            break
        found = conn.execute(stmt, {**params, "limit": limit - len(rows)})
        rows.extend(map(ClaimedRow._make, found))
    rows.sort()  # by id: a tuple sorts on its first field, and ids are unique
    return rows


ANALYZE_LOCK_WAIT_MS = 5000  # refresh_planner_stats waits this long for the table's lock


def _may_analyze(conn: Connection) -> bool:
    """Whether this user may ANALYZE the outbox: the table's owner or the database's (a member
    of the owning role; a superuser is one of every role), or from PostgreSQL 17 a role
    granted MAINTAIN on it. Anyone else gets a WARNING notice and no statistics, and the
    driver drops notices unless asked: so this is asked first."""
    allowed = (
        "pg_has_role(c.relowner, 'USAGE') OR pg_has_role((SELECT datdba FROM pg_database"
        " WHERE datname = current_database()), 'USAGE')"
    )
    if (conn.dialect.server_version_info or (0,)) >= (17,):
        allowed += " OR has_table_privilege(c.oid, 'MAINTAIN')"
    found = conn.execute(text(f"SELECT {allowed} FROM pg_class c WHERE c.oid = 'outbox'::regclass"))
    return bool(found.scalar_one())


def refresh_planner_stats(engine: Engine) -> bool:
    """Bring PostgreSQL's statistics of the outbox up to date (``ANALYZE outbox``); True
    where it ran, False on SQLite, whose claim follows no statistics. StoreError when the
    database refused, or the user may not analyze the table.

    Why, after a bulk enqueue: the claim's plan follows the statistics, and where there are
    none for the outbox (a new install, or a table analyzed while it was empty, whose first
    large send comes before autovacuum's first look), the planner takes the queued range for
    a handful of rows and, for every claim of 500, reads and sorts the whole of it (a bitmap
    scan) instead of walking its index to the LIMIT: work that grows with the queue.
    """
    if not is_postgres(engine):
        return False
    try:
        with engine.begin() as conn:
            if not _may_analyze(conn):
                raise StoreError(
                    "the database user owns neither the outbox table nor the database, so "
                    "PostgreSQL would skip ANALYZE (run it as an owner, or GRANT MAINTAIN on "
                    "PostgreSQL 17+)"
                )
            # ANALYZE waits for a VACUUM or another ANALYZE of the table: the run that
            # called it must not wait with it. (An autovacuum in the way is cancelled by
            # PostgreSQL after deadlock_timeout, 1 s by default, and redone later.)
            conn.execute(text(f"SET LOCAL lock_timeout = '{ANALYZE_LOCK_WAIT_MS}ms'"))
            conn.execute(text("ANALYZE outbox"))
    except SQLAlchemyError as exc:
        raise StoreError(failure_line(exc) or str(exc)) from None
    return True


def renew(
    conn: Connection, ids: Sequence[int], *, owner: str, lease_until: datetime, now: datetime
) -> set[int]:
    """Extend the lease of rows still leased to ``owner``; returns the ids renewed."""
    renewed: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        stmt = (
            update(outbox)
            .where(
                sql.among(conn, outbox.c.id, chunk),
                outbox.c.lease_owner == owner,
                outbox.c.status == "sending",
            )
            .values(lease_until=lease_until)
            .returning(outbox.c.id)
        )
        renewed.update(int(i) for i in conn.execute(stmt).scalars())
    return renewed


def lease_holders(conn: Connection, *, host: str) -> list[tuple[str, str]]:
    """(owner, process) of every drain on ``host`` holding rows in ``sending``."""
    q = (
        select(outbox.c.lease_owner, outbox.c.lease_process)
        .where(sql.is_status("sending"), outbox.c.lease_host == host)
        .distinct()
    )
    return [(str(o), str(p)) for o, p in conn.execute(q) if o is not None and p is not None]


def expire_leases(conn: Connection, owners: Sequence[str], *, now: datetime) -> int:
    """End the leases of these (dead) drains now: their rows are claimable at once."""
    stmt = (
        update(outbox)
        .where(sql.is_status("sending"), outbox.c.lease_owner.in_(list(owners)))
        .values(lease_until=now)
    )
    return int(conn.execute(stmt).rowcount)


def suppressions_for(
    conn: Connection, emails: Sequence[str]
) -> dict[str, set[tuple[SuppressionScope, str]]]:
    """Lower-cased address → its suppression entries as (scope, reason), for those listed.

    Suppressions are keyed by ``addresses.canonical`` (a punycode recipient finds the entry of
    its Unicode domain, any letter case finds the entry), looked up on the primary key.
    """
    keys = {e: canonical(e) for e in emails}
    wanted = sorted(set(keys.values()))
    by_key: dict[str, set[tuple[SuppressionScope, str]]] = {}
    pg = conn.dialect.name == "postgresql"
    q = sql.suppressions_statement(pg)
    for start in range(0, len(wanted), _CHUNK):
        chunk = sql.list_param(pg, wanted[start : start + _CHUNK])
        for email, scope, reason in conn.execute(q, {"emails": chunk}):
            by_key.setdefault(str(email), set()).add((scope, str(reason)))
    return {e.lower(): by_key[k] for e, k in keys.items() if k in by_key}


def set_final(
    conn: Connection,
    ids: Sequence[int],
    *,
    status: OutboxStatus,
    now: datetime,
    reply: str | None = None,
    owner: str | None = None,
) -> int:
    """Move leased rows to a final status. With ``owner``, only rows still leased to it."""
    pg = conn.dialect.name == "postgresql"
    stmt = sql.final_statement(pg, status, reply is not None, owner is not None)
    params: dict[str, Any] = {"now": now, "reply": reply, "owner": owner}
    done = 0
    for start in range(0, len(ids), _CHUNK):
        params["ids"] = sql.list_param(pg, ids[start : start + _CHUNK])
        done += conn.execute(stmt, params).rowcount
    return done


def defer(
    conn: Connection, row_id: int, *, at: datetime, reply: str, now: datetime, refund: bool = False
) -> None:
    """Back to the queue until ``at``. ``refund`` gives the attempt back (the row was not tried)."""
    values: dict[str, Any] = {
        "status": "deferred" if not refund else "queued",
        "next_attempt_at": at,
        "lease_until": None,
        "lease_owner": None,
        "lease_host": None,
        "lease_process": None,
        "last_reply": reply,
        "updated_at": now,
    }
    if refund:
        values["attempts"] = outbox.c.attempts - 1
    conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


def release(
    conn: Connection, ids: Sequence[int], *, now: datetime, owner: str | None = None
) -> None:
    """Give leased rows back untouched (graceful stop): due now, the attempt refunded.

    With ``owner``, only rows still leased to it (never a row another drain took over)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        cond: ColumnElement[bool] = and_(
            sql.among(conn, outbox.c.id, chunk), outbox.c.status == "sending"
        )
        if owner is not None:
            cond = and_(cond, outbox.c.lease_owner == owner)
        conn.execute(
            update(outbox)
            .where(cond)
            .values(
                status="queued",
                attempts=outbox.c.attempts - 1,
                lease_until=None,
                lease_owner=None,
                lease_host=None,
                lease_process=None,
                updated_at=now,
            )
        )


def status_counts(conn: Connection) -> list[tuple[str, str, int]]:
    q = select(outbox.c.status, outbox.c.kind, func.count()).group_by(
        outbox.c.status, outbox.c.kind
    )
    return [(str(s), str(k), int(n)) for s, k, n in conn.execute(q)]


def oldest_queued(conn: Connection, *, due_by: datetime | None = None) -> datetime | None:
    """When the oldest queued or deferred message was made; with ``due_by``, since when the
    longest-waiting message due by then has been due (the alerting gauge: rows held for the
    quiet hours or waiting for a retry are not late until their time comes)."""
    made, due = outbox.c.created_at, outbox.c.next_attempt_at
    found: list[datetime] = []
    for status in _CLAIMABLE:  # one status a query, each on its partial index
        if due_by is None:
            q = select(func.min(made)).where(sql.is_status(status))
        else:
            since = case((due > made, due), else_=made)
            q = select(func.min(since)).where(sql.is_status(status), due <= due_by)
        value: datetime | None = conn.execute(q).scalar()
        if value is not None:
            found.append(value)
    return min(found, default=None)


def next_retry(conn: Connection) -> datetime | None:
    q = select(func.min(outbox.c.next_attempt_at)).where(sql.is_status("deferred"))
    value: datetime | None = conn.execute(q).scalar()
    return value


def top_deferral_reasons(conn: Connection, limit: int = 5) -> list[tuple[str, int]]:
    n = func.count().label("n")
    q = (
        select(outbox.c.last_reply, n)
        .where(sql.is_status("deferred"))
        .group_by(outbox.c.last_reply)
        .order_by(n.desc())
        .limit(limit)
    )
    return [(str(r or ""), int(c)) for r, c in conn.execute(q)]


def requeue_failed(
    conn: Connection,
    *,
    kind: OutboxKind | None,
    now: datetime,
    expires_at: dict[str, datetime],
) -> int:
    """Failed rows back to the queue, with a fresh expiry per kind; returns how many."""
    total = 0
    kinds = [kind] if kind else [str(k) for k in conn.execute(
        select(outbox.c.kind).where(sql.is_status("failed")).distinct()
    ).scalars()]  # fmt: skip
    for k in kinds:
        stmt = (
            update(outbox)
            .where(sql.is_status("failed"), outbox.c.kind == k)
            .values(
                status="queued",
                attempts=0,
                next_attempt_at=now,
                expires_at=expires_at.get(k, now),
                updated_at=now,
            )
        )
        total += conn.execute(stmt).rowcount
    return total


# --- cancelling what waits for a reader who is gone (helper cli, issue 12.7) ---


def cancel_queued(
    conn: Connection, recipients: Sequence[str], *, kinds: Sequence[str], now: datetime, reason: str
) -> int:
    """Rows of ``kinds`` still waiting for one of ``recipients`` become ``suppressed``.

    Only ``queued`` and ``deferred`` rows: a ``sending`` row is in a drain's hands, and
    changing it under the drain would record a message that may still go out as stopped.
    Addresses compare case-insensitively (ASCII), as the outbox stores them as sent.
    """
    wanted = sorted({r.lower() for r in recipients})
    if not wanted:
        return 0
    done = 0
    for status in _CLAIMABLE:  # one status a statement, each on its partial index
        stmt = (
            update(outbox)
            .where(
                sql.is_status(status),
                outbox.c.kind.in_(list(kinds)),
                func.lower(outbox.c.recipient).in_(wanted),
            )
            .values(status="suppressed", last_reply=reason, updated_at=now)
        )
        done += int(conn.execute(stmt).rowcount or 0)
    return done


_CONTENT_ID = select(contents.c.id).where(contents.c.key == bindparam("key"))


def content_id(conn: Connection, key: str) -> int | None:
    """The id of stored content by key, if stored (cheaper than an insert that does nothing)."""
    found = conn.execute(_CONTENT_ID, {"key": key}).scalar()
    return None if found is None else int(found)
