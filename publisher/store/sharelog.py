"""Named queries for the share log: one row per "send this article by email"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from publisher.store.schema import share_log

_LOG_SHARE = insert(share_log)


def log_share(
    conn: Connection, *, article_id: str, recipient: str, ip_hash: str, sender_name: str,
    enqueued: bool, now: datetime,
) -> int:  # fmt: skip
    pk = conn.execute(
        _LOG_SHARE,
        {"article_id": article_id, "recipient": recipient, "ip_hash": ip_hash,
         "sender_name": sender_name, "enqueued": int(enqueued), "created_at": now},
    ).inserted_primary_key  # fmt: skip
    assert pk is not None
    return int(pk[0])


def share_recipient(conn: Connection, share_id: int) -> str | None:
    value = conn.execute(select(share_log.c.recipient).where(share_log.c.id == share_id)).scalar()
    return None if value is None else str(value)


def shares(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    q = select(share_log).order_by(share_log.c.id.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]
