"""Named queries for stored contents and outbox rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from publisher.store.schema import contents, outbox

_CHUNK = 1000


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def put_content(conn: Connection, *, key: str, kind: str, body: bytes, now: datetime) -> int:
    """Store a body once under ``key``; a second call with the same key returns the first id."""
    stmt = _insert(conn)(contents).values(key=key, kind=kind, body=body, created_at=now)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[contents.c.key]))
    found = conn.execute(select(contents.c.id).where(contents.c.key == key)).scalar_one()
    return int(found)


def get_content(conn: Connection, content_id: int) -> bytes:
    return bytes(
        conn.execute(select(contents.c.body).where(contents.c.id == content_id)).scalar_one()
    )


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows; an existing dedupe_key is skipped. Returns how many were new."""
    inserted = 0
    # One statement with executemany parameters: SQLAlchemy batches it ("insertmanyvalues")
    # with a cached compiled form. A .values(list) statement is recompiled per chunk, which
    # cost ~12 s for 50,000 rows.
    stmt = _insert(conn)(outbox).on_conflict_do_nothing(index_elements=[outbox.c.dedupe_key])
    # RETURNING, because rowcount is -1 for this statement on psycopg.
    stmt = stmt.returning(outbox.c.id)
    for start in range(0, len(rows), _CHUNK):
        chunk = [
            {**r, "substitutions": json.dumps(r["substitutions"], ensure_ascii=False)}
            for r in rows[start : start + _CHUNK]
        ]
        inserted += len(conn.execute(stmt, chunk).all())
    return inserted
