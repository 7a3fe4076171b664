"""The outbox: what to send, written by the stages that decide; drained by deliver.py.

Contract shared by every producer (digests, confirmations, shares, test sends):

- The rendered message is stored once per variant with ``store_content``: complete RFC 5322
  bytes with CRLF line endings, every line ≤ 998 bytes, and ASCII placeholders of the form
  ``%%NAME%%`` where per-recipient values go (e.g. ``%%TO%%``, ``%%UNSUBSCRIBE_URL%%``).
- Each recipient gets one row (``enqueue``) with its substitutions, ``{"%%TO%%": "…"}``.
  Values must already be in their wire form (RFC 2047 encoded where they sit in headers).
- ``%%MESSAGE_ID%%`` is always filled in from the row's ``message_id``, which is derived
  from the dedupe key, so a retry carries the same Message-ID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.store import outbox as store_outbox
from publisher.store.types import Connection

MESSAGE_ID_PLACEHOLDER = "%%MESSAGE_ID%%"


@dataclass(frozen=True, slots=True)
class NewMessage:
    dedupe_key: str
    kind: str
    recipient: str
    content_id: int
    substitutions: dict[str, str] = field(default_factory=dict)
    expires_in: timedelta = timedelta(hours=24)


def message_id_for(dedupe_key: str, domain: str) -> str:
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def store_content(conn: Connection, *, key: str, kind: str, body: bytes, now: datetime) -> int:
    return store_outbox.put_content(conn, key=key, kind=kind, body=body, now=now)


def enqueue(conn: Connection, messages: Iterable[NewMessage], *, now: datetime, domain: str) -> int:
    """Write rows in the caller's transaction; existing dedupe keys are left alone.

    Returns the number of new rows.
    """
    rows = [
        {
            "dedupe_key": m.dedupe_key,
            "kind": m.kind,
            "recipient": m.recipient,
            "content_id": m.content_id,
            "substitutions": m.substitutions,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now,
            "expires_at": now + m.expires_in,
            "message_id": message_id_for(m.dedupe_key, domain),
            "created_at": now,
            "updated_at": now,
        }
        for m in messages
    ]
    return store_outbox.insert_rows(conn, rows)
