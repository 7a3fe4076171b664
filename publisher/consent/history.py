"""Reading the consent log: a reader's own history ("my data"), and the operator's export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from publisher.consent.record import address_hash
from publisher.store import consent as store
from publisher.store import subscribers as store_subscribers
from publisher.store.types import Engine

COLUMNS = (
    "email", "address_hash", "event", "channel", "at", "recorded_at", "ip_hash",
    "text_version", "advertising", "detail",
)  # fmt: skip


def _public(e: store.Entry) -> dict[str, Any]:
    return {
        "event": e.event, "channel": e.channel, "at": e.at.isoformat(),
        "recorded_at": e.recorded_at.isoformat(), "ip_hash": e.ip_hash,
        "text_version": e.text_version, "advertising": e.advertising, "detail": e.detail or {},
    }  # fmt: skip


def history(engine: Engine, secret: str, email: str) -> list[dict[str, Any]]:
    """Every row about this address, oldest first (what the reader's "my data" shows)."""
    with engine.connect() as conn:
        return [_public(e) for e in store.history(conn, address_hash(secret, email))]


def _rows(engine: Engine, secret: str) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        # The log holds no address: current subscribers' addresses are matched by hash; a
        # deleted reader's rows keep only the hash (that is what deletion leaves).
        emails = {
            address_hash(secret, s.email): s.email for s in store_subscribers.iter_subscribers(conn)
        }
        for e in store.iter_all(conn):
            yield {"email": emails.get(e.address_hash, ""), "address_hash": e.address_hash,
                   **_public(e)}  # fmt: skip


def export(engine: Engine, secret: str, out: TextIO, *, fmt: str = "csv") -> int:
    """The whole log (csv or jsonl); returns how many rows."""
    n = 0
    writer = None
    if fmt != "jsonl":
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
    for row in _rows(engine, secret):
        if writer is None:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer.writerow({**row, "detail": json.dumps(row["detail"], ensure_ascii=False)})
        n += 1
    return n
