"""Named queries for the audit log: one row per state-changing console or CLI action."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from publisher.store.consoleschema import audit_log


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    ip: str


def record(
    conn: Connection, *, at: datetime, actor: str, action: str, target: str = "",
    detail: dict[str, Any] | None = None, ip: str = "",
) -> None:  # fmt: skip
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor,
            action=action,
            target=target,
            ip=ip,
            detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        )
    )


def _row(r: Any) -> AuditRow:
    try:
        detail = json.loads(r.detail or "{}")
    except ValueError:
        detail = {}
    return AuditRow(r.id, r.at, r.actor, r.action, r.target, detail, r.ip)


def recent(
    conn: Connection, *, limit: int, before_id: int | None = None, action: str | None = None
) -> list[AuditRow]:
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(audit_log.c.id < before_id)
    if action:
        q = q.where(audit_log.c.action == action)
    return [_row(r) for r in conn.execute(q)]


def iterate(conn: Connection, *, since: datetime | None = None) -> Iterator[AuditRow]:
    """Oldest first, streamed (an export may be long)."""
    q = select(audit_log).order_by(audit_log.c.id)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    for r in conn.execution_options(yield_per=1000).execute(q):
        yield _row(r)
