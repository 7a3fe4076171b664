"""The audit log: who changed what, when, from where; viewed in the console, exported as
JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from publisher.store import audit as store
from publisher.store.audit import AuditRow
from publisher.store.types import Engine

__all__ = ["AuditRow", "export_lines", "recent", "record"]


def record(
    engine: Engine, *, at: datetime, actor: str, action: str, target: str = "",
    detail: dict[str, Any] | None = None, ip: str = "",
) -> None:  # fmt: skip
    with engine.begin() as conn:
        store.record(conn, at=at, actor=actor, action=action, target=target, detail=detail, ip=ip)


def recent(
    engine: Engine, *, limit: int = 100, before_id: int | None = None, action: str | None = None
) -> list[AuditRow]:
    with engine.connect() as conn:
        return store.recent(conn, limit=limit, before_id=before_id, action=action)


def as_json(row: AuditRow) -> str:
    return json.dumps(
        {"id": row.id, "at": row.at.isoformat(), "actor": row.actor, "action": row.action,
         "target": row.target, "detail": row.detail, "ip": row.ip},
        ensure_ascii=False,
    )  # fmt: skip


def export_lines(engine: Engine, *, since: datetime | None = None) -> Iterator[str]:
    """Every entry, oldest first, one JSON object per line."""
    with engine.connect() as conn:
        for row in store.iterate(conn, since=since):
            yield as_json(row) + "\n"
