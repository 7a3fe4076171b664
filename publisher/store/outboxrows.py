"""Writing new outbox rows in bulk: a digest run writes a million, a sign-up one.

Each row is a tuple (``NewRow``); what every row of a batch shares (status ``queued``, no
attempts, the creation time) is bound once per statement, not per row. An existing
``dedupe_key`` is left alone (ON CONFLICT DO NOTHING), so a rerun writes nothing twice.

- SQLite: one prepared INSERT, run by the driver's ``executemany`` (no per-row work in
  SQLAlchemy: its parameter processing cost more than SQLite's insert).
- PostgreSQL: batches of ``COPY_FROM`` rows or more are ``COPY``'d into a temporary table,
  then moved by one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` in the order given; smaller
  ones (a confirmation mail) use ``executemany``. COPY alone cannot skip a duplicate key.

Datetimes go through the columns' own bind processors (UTCDateTime: naive UTC; on SQLite the
dialect's text form), once per distinct value, so the stored bytes are SQLAlchemy's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from publisher.store.schema import outbox

NewRow = tuple[str, str, str, int, str, str, datetime, datetime]
"""(dedupe_key, kind, recipient, content_id, substitutions as JSON, message_id,
next_attempt_at, expires_at)"""

COPY_FROM = 200  # rows: below this a temporary table costs more than it saves

_ROW_COLUMNS = (
    "dedupe_key", "kind", "recipient", "content_id", "substitutions", "message_id",
    "next_attempt_at", "expires_at",
)  # fmt: skip
_SHARED_COLUMNS = ("status", "attempts", "created_at", "updated_at")
_LOAD_TABLE = "outbox_load"


def insert_rows(conn: Connection, rows: Sequence[NewRow], *, now: datetime) -> int:
    """Insert outbox rows created at ``now``; an existing dedupe_key is skipped. Returns how
    many were new. Runs in the caller's transaction."""
    return prepare(conn, rows, now=now)()


def prepare(conn: Connection, rows: Sequence[NewRow], *, now: datetime) -> Callable[[], int]:
    """``insert_rows`` in two steps: the statement's data is formatted now, and the returned
    call writes it (→ new rows) on the driver connection only, never on ``conn`` itself, so
    it may run on a second thread while this one builds the next batch: psycopg connections
    are thread-safe (streamed.fan_out's overlap on PostgreSQL)."""
    if not rows:
        return lambda: 0
    if not conn.in_transaction():
        # What any statement through SQLAlchemy does first (autobegin): the driver-level
        # writes below then belong to the caller's transaction, committed or rolled back
        # with it, never left in one SQLAlchemy does not know of.
        conn.begin()
    stamp = _stamper(conn)
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        payload = _copy_text(rows, stamp)
        return partial(_copy, driver, payload, now=stamp(now))
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(_ROW_COLUMNS + _SHARED_COLUMNS)
    values = ", ".join([mark] * len(_ROW_COLUMNS) + ["'queued'", "0", mark, mark])
    sql = f"INSERT INTO outbox ({columns}) VALUES ({values}) ON CONFLICT (dedupe_key) DO NOTHING"
    at = stamp(now)
    params = [(*r[:6], stamp(r[6]), stamp(r[7]), at, at) for r in rows]
    return partial(_executemany, driver, sql, params)


def _stamper(conn: Connection) -> Callable[[datetime], Any]:
    """A datetime in the driver's form for the outbox's UTCDateTime columns, memoised: a
    batch's rows share their few distinct times."""
    process = outbox.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    memo: dict[datetime, Any] = {}

    def stamp(value: datetime) -> Any:
        found = memo.get(value)
        if found is None:
            found = memo[value] = process(value) if process is not None else value
        return found

    return stamp


def _executemany(driver: Any, sql: str, params: list[tuple[Any, ...]]) -> int:
    cur = driver.cursor()
    try:
        # The drivers count an executemany's changes across its rows (sqlite3 sums
        # sqlite3_changes, psycopg its rowcounts); a skipped duplicate changes nothing.
        cur.executemany(sql, params)
        return int(cur.rowcount)
    finally:
        cur.close()


# COPY's text format: fields split by tabs, rows by newlines, a backslash escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_COPY_TABS = 8  # nine fields


def _copy_text(rows: Sequence[NewRow], stamp: Callable[[datetime], Any]) -> bytes:
    """The rows as COPY text, numbered in order. Formatted by hand, on the run's thread: the
    common row needs no escaping (checked per row: a value with a tab, a line break or a
    backslash, such as a JSON escape, takes the escaping path)."""
    text: dict[datetime, str] = {}

    def when(value: datetime) -> str:
        found = text.get(value)
        if found is None:
            found = text[value] = str(stamp(value))  # naive UTC, ISO: what timestamp reads
        return found

    lines = []
    for n, (key, kind, recipient, cid, subs, mid, start, expires) in enumerate(rows):
        times = f"{when(start)}\t{when(expires)}"
        line = f"{n}\t{key}\t{kind}\t{recipient}\t{cid}\t{subs}\t{mid}\t{times}\n"
        if line.count("\t") != _COPY_TABS or "\\" in line or "\r" in line or line.count("\n") != 1:
            fields = (key, kind, recipient, str(cid), subs, mid, when(start), when(expires))
            line = "\t".join([str(n), *(f.translate(_COPY_ESCAPES) for f in fields)]) + "\n"
        lines.append(line)
    return "".join(lines).encode("utf-8")


def _copy(driver: Any, payload: bytes, *, now: Any) -> int:
    """COPY into a temporary table (dropped at commit or rollback), then one INSERT … SELECT
    in the given order (``n``), so ids follow the batch as executemany's would."""
    columns = ", ".join(_ROW_COLUMNS)
    with driver.cursor() as cur:
        cur.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_LOAD_TABLE} (n integer, dedupe_key text,"
            " kind text, recipient text, content_id integer, substitutions text,"
            " message_id text, next_attempt_at timestamp, expires_at timestamp)"
            " ON COMMIT DROP"
        )
        with cur.copy(f"COPY {_LOAD_TABLE} (n, {columns}) FROM STDIN") as copy:
            copy.write(payload)
        cur.execute(
            f"INSERT INTO outbox ({columns}, {', '.join(_SHARED_COLUMNS)})"
            f" SELECT {columns}, 'queued', 0, %s, %s FROM {_LOAD_TABLE} ORDER BY n"
            " ON CONFLICT (dedupe_key) DO NOTHING",
            (now, now),
        )
        inserted = int(cur.rowcount)
        cur.execute(f"TRUNCATE {_LOAD_TABLE}")
    return inserted
