"""Signed webhook tokens used once (Mailgun's replay protection, as Mailgun recommends)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete

from publisher.store.db import dialect_insert
from publisher.store.inboundschema import webhook_tokens


def use_once(
    conn: Connection, provider: str, token: str, *, signed_at: datetime, expired_before: datetime
) -> bool:
    """Record the token in the caller's transaction; False when it was used before.

    Tokens signed before ``expired_before`` are purged first: the signed-time check refuses
    them anyway, so the table stays as small as one tolerance window of requests."""
    conn.execute(delete(webhook_tokens).where(webhook_tokens.c.signed_at < expired_before))
    stmt = (
        dialect_insert(conn)(webhook_tokens)
        .values(provider=provider, token=token, signed_at=signed_at)
        .on_conflict_do_nothing(index_elements=[webhook_tokens.c.provider, webhook_tokens.c.token])
        .returning(webhook_tokens.c.token)
    )
    # RETURNING, not rowcount: psycopg's rowcount is not the inserted rows here.
    return conn.execute(stmt).first() is not None
