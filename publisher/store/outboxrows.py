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
    many were new. Runs in the caller's transaction, on its driver connection only (never
    on ``conn`` itself), so a second thread may write a batch while the caller reads: psycopg
    connections are thread-safe (streamed.fan_out's overlap)."""
    if not rows:
        return 0
    stamp = _stamper(conn)
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        return _copy(driver, rows, stamp, now=stamp(now))
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return _executemany(driver, mark, rows, stamp, now=stamp(now))


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


def _executemany(
    driver: Any, mark: str, rows: Sequence[NewRow], stamp: Callable[[datetime], Any], *, now: Any
) -> int:
    columns = ", ".join(_ROW_COLUMNS + _SHARED_COLUMNS)
    values = ", ".join([mark] * len(_ROW_COLUMNS) + ["'queued'", "0", mark, mark])
    sql = f"INSERT INTO outbox ({columns}) VALUES ({values}) ON CONFLICT (dedupe_key) DO NOTHING"
    params = [(*r[:6], stamp(r[6]), stamp(r[7]), now, now) for r in rows]
    cur = driver.cursor()
    try:
        # The drivers count an executemany's changes across its rows (sqlite3 sums
        # sqlite3_changes, psycopg its rowcounts); a skipped duplicate changes nothing.
        cur.executemany(sql, params)
        return int(cur.rowcount)
    finally:
        cur.close()


def _copy(
    driver: Any, rows: Sequence[NewRow], stamp: Callable[[datetime], Any], *, now: Any
) -> int:
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
            for n, r in enumerate(rows):
                copy.write_row((n, *r[:6], stamp(r[6]), stamp(r[7])))
        cur.execute(
            f"INSERT INTO outbox ({columns}, {', '.join(_SHARED_COLUMNS)})"
            f" SELECT {columns}, 'queued', 0, %s, %s FROM {_LOAD_TABLE} ORDER BY n"
            " ON CONFLICT (dedupe_key) DO NOTHING",
            (now, now),
        )
        inserted = int(cur.rowcount)
        cur.execute(f"TRUNCATE {_LOAD_TABLE}")
    return inserted
