"""listmonk's subscriber export.

listmonk's "Export" of subscribers writes ``uuid,email,name,attributes,status,created_at,
updated_at``; its import format is ``email,name,attributes`` (``attributes`` a JSON object).
``status`` is the subscriber's: ``enabled``, ``disabled`` or ``blocklisted``. Whether a reader
confirmed is per list (``subscription_status``: ``unconfirmed``, ``confirmed``,
``unsubscribed``), present when the export was made per list or by SQL query.

Mapping: ``blocklisted`` → a suppression; ``disabled`` or an ``unsubscribed`` subscription →
unsubscribed; ``confirmed`` → confirmed; anything else (no subscription status: nothing
recorded a confirmation) → pending. ``attributes`` must be a JSON object; it is not imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

from publisher.readers.importformats.common import (
    Fate,
    FormatError,
    Incoming,
    address,
    name,
    rows,
    when,
)

_STATUSES = ("enabled", "disabled", "blocklisted")
_SUBSCRIPTION = ("unconfirmed", "confirmed", "unsubscribed", "")


def _check_attributes(line: int, text: str) -> None:
    if not text:
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(line, "attributes", f"not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise FormatError(line, "attributes", "must be a JSON object")


def _fate(line: int, status: str, subscription: str) -> Fate:
    if status not in _STATUSES:
        raise FormatError(line, "status", f"must be one of {', '.join(_STATUSES)}, got {status!r}")
    if subscription not in _SUBSCRIPTION:
        raise FormatError(line, "subscription_status", f"unknown status {subscription!r}")
    if status == "blocklisted":
        return "blocked"
    if status == "disabled" or subscription == "unsubscribed":
        return "unsubscribed"
    return "confirmed" if subscription == "confirmed" else "pending"


def read(fh: TextIO) -> Iterator[Incoming]:
    for line, rec in rows(fh, needs=("email",), tool="listmonk"):
        _check_attributes(line, rec.get("attributes", ""))
        status = rec.get("status", "").lower() or "enabled"
        subscription = rec.get("subscription_status", "").lower()
        fate = _fate(line, status, subscription)
        created = when(line, "created_at", rec.get("created_at", ""))
        updated = when(line, "updated_at", rec.get("updated_at", ""))
        yield Incoming(
            line=line, email=address(line, "email", rec["email"]),
            name=name(line, "name", rec.get("name", "")), fate=fate,
            source_status=f"{status}/{subscription}" if subscription else status,
            subscribed_at=created,
            # listmonk keeps no confirmation time: the row's last change is the best proof.
            confirmed_at=(updated or created) if fate == "confirmed" else None,
            left_at=updated if fate in ("unsubscribed", "blocked") else None,
        )  # fmt: skip
