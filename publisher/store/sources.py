"""Named queries for polled sources: their durable state, and the article look-ups de-dup needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from publisher.store.db import dialect_insert
from publisher.store.schema import articles, source_state

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a source remembers between polls; a failed poll changes only the error fields."""

    name: str
    kind: str
    target: str
    etag: str | None = None
    last_modified: str | None = None
    since_cursor: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    failures: int = 0
    last_error: str = ""
    last_result: str = ""
    next_attempt_at: datetime | None = None


def _state(r: Any) -> SourceState:
    return SourceState(**{f.name: getattr(r, f.name) for f in fields(SourceState)})


def get_state(conn: Connection, name: str) -> SourceState | None:
    r = conn.execute(select(source_state).where(source_state.c.name == name)).first()
    return None if r is None else _state(r)


def all_states(conn: Connection) -> dict[str, SourceState]:
    return {r.name: _state(r) for r in conn.execute(select(source_state))}


def save_state(conn: Connection, state: SourceState) -> None:
    """Insert or replace the row of ``state.name``."""
    values = asdict(state)
    insert_fn = dialect_insert(conn)
    stmt = insert_fn(source_state).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[source_state.c.name],
        set_={k: v for k, v in values.items() if k != "name"},
    )
    conn.execute(stmt)


def existing_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        q = select(articles.c.external_id).where(
            articles.c.external_id.in_(wanted[start : start + _CHUNK])
        )
        found.update(str(r[0]) for r in conn.execute(q))
    return found


def ids_by_url(conn: Connection, *, id_prefix: str, urls: Iterable[str]) -> dict[str, str]:
    """url → external id, among articles whose id starts with ``id_prefix`` (one source's)."""
    wanted = list(dict.fromkeys(urls))
    pattern = id_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    out: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        q = (
            select(articles.c.url, articles.c.external_id)
            .where(articles.c.url.in_(wanted[start : start + _CHUNK]))
            .where(articles.c.external_id.like(pattern, escape="\\"))
            .order_by(articles.c.id)
        )
        for url, external_id in conn.execute(q):
            out.setdefault(str(url), str(external_id))
    return out
