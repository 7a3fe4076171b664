"""Our Message-IDs, which name their outbox row, so a report that quotes one finds it by key.

A row is written before its id is known (a bulk enqueue, COPY on PostgreSQL), so it stores
``<HEX.0@DOMAIN>``: HEX is 32 hex digits of the SHA-256 of its dedupe key (unique per
message), ``0`` stands for the id. The drain sends ``<HEX.ID@DOMAIN>`` with the row's id,
the same on every retry. A bounce, a feedback report or a sending service's event that
quotes it is then one primary-key lookup (store/inbound.py), checked against the stored
value. Rows written before migration 0021 store ``<HEX@DOMAIN>`` and are sent as stored; a
partial index holds those alone (schema.PRE_0021_MESSAGE_ID), and shrinks as they are
purged. A Message-ID of any other shape is none of ours and costs no query at all: before
0021 each one read the whole outbox (about 0.3 s at a million rows), an easy lever for
anyone who can mail our bounce address.

During a rolling upgrade a drain still on older code sends a new row's stored value as it
is (``.0``, a valid and unique Message-ID); a report that quotes only that matches nothing
here, and is still matched by its VERP address.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

# The id stands in the stored value at [33:35] (after "<" and the 32 hex digits).
_UNSENT = ".0@"
# The domain is ours, in its ASCII form (messages/fanout.py: the From address's, punycode).
# Anything else in it (a NUL, which PostgreSQL refuses in text) names no message of ours.
_SHAPE = re.compile(r"<([0-9a-f]{32})(?:\.([1-9][0-9]{0,9}))?@([A-Za-z0-9.-]{1,253})>")
# outbox.id is a 32-bit INTEGER: a larger id names no row (and PostgreSQL would refuse it).
MAX_ROW_ID = 2**31 - 1


class Named(NamedTuple):
    """What a Message-ID names: a row's id (None: a row from before 0021) and the value the
    row stores, which must match."""

    row_id: int | None
    stored: str


def stored(dedupe_key: str, domain: str) -> str:
    """The value a new row stores: unique per dedupe key, the id still ``0``."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}{_UNSENT}{domain}>"


def sent(stored_value: str, row_id: int) -> str:
    """The Message-ID a row is sent with: its id in place of the ``0`` (a row stored before
    0021, or by hand, goes as stored)."""
    if stored_value[33:36] != _UNSENT:
        return stored_value
    return f"{stored_value[:33]}.{row_id}{stored_value[35:]}"


def named(message_id: str) -> Named | None:
    """The row a Message-ID of ours names, or None for any other shape (no lookup due)."""
    found = _SHAPE.fullmatch(message_id.strip())
    if found is None:
        return None
    digest, row_id, domain = found.groups()
    if row_id is None:
        return Named(None, f"<{digest}@{domain}>")
    if int(row_id) > MAX_ROW_ID:
        return None
    return Named(int(row_id), f"<{digest}{_UNSENT}{domain}>")
