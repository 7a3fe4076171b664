"""Engine creation: SQLite in WAL mode with foreign keys on, or PostgreSQL via psycopg 3."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from publisher.core.errors import PublisherError


class StoreError(PublisherError):
    """The store cannot be opened or written; the message says which path or URL."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; attach a timezone first")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite aggregates (max()) return text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    raw = url[len("sqlite:///") :].split("?")[0]
    return None if raw in ("", ":memory:") else Path(raw)


def make_engine(url: str, *, create_dirs: bool = True) -> Engine:
    """Open the store. A SQLite file's folder is created; an unwritable one is a StoreError.

    Bound parameters are never shown in errors or logs (``hide_parameters``): they hold
    readers' addresses, names and unsubscribe tokens.
    """
    path = sqlite_path(url)
    if path is not None:
        try:
            if create_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
            # Only a missing file is touched: closing any descriptor of an open SQLite file drops
            # every POSIX lock this process holds on it, so a second engine in a process that
            # already has one would let another process delete the WAL under the first.
            if not path.exists():
                with open(path, "ab"):
                    pass
            elif not os.access(path, os.R_OK | os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            raise StoreError(f"database_url: cannot write {path}: {exc.strerror}") from None
        engine = create_engine(
            normalise_url(url), connect_args={"timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy issue BEGIN itself, so a transaction takes the write lock predictably.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(normalise_url(url), pool_pre_ping=True, pool_size=10, hide_parameters=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy sends BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def dialect_insert(conn: Connection) -> Any:
    """The INSERT construct with ON CONFLICT support for this connection's database."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


_FULL = ("database or disk is full", "no space left on device", "disk full")


def driver_reason(exc: BaseException) -> str:
    """The first line of the driver's own message: no SQL, no values (PostgreSQL's DETAIL
    lines can quote values)."""
    inner = exc.orig if isinstance(exc, DBAPIError) else exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]


def failure_line(exc: BaseException) -> str | None:
    """One line saying what the database refused, without SQL or values; None if ``exc`` is
    not a database error."""
    if isinstance(exc, DBAPIError):
        first = driver_reason(exc)
        if any(f in first.lower() for f in _FULL):
            return f"the database could not be written, the disk or database is full ({first})"
        return f"database error: {first}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {type(exc).__name__}"
    return None
