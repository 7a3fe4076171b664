"""Named queries of the inbound side: record a message once, find what it names, count.

``record`` is the idempotency: the unique key makes a second insert of the same message do
nothing, and its effect runs only when the insert did something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, distinct, func, select, text, update

from publisher.core import messageids
from publisher.core.addresses import canonical
from publisher.core.vocab import InboundOutcome
from publisher.store.inboundschema import inbound_messages
from publisher.store.schema import (
    PRE_0021_MESSAGE_ID,
    digest_runs,
    outbox,
    subscribers,
    suppressions,
)

# inbound_messages.matched: 0 names none of our messages; 1 named one by its VERP token (or a
# signed webhook), and acted; 2 named one only by an address or a Message-ID anyone could
# write (inbound/match.py): recorded for the operator, no effect, counted nowhere else.
MATCHED, UNVERIFIED = 1, 2

# Reader-own reasons a bounce or complaint overrides (they lift when the reader confirms).
_WEAKER = ("unsubscribed", "deleted")


@dataclass(frozen=True, slots=True)
class SentRow:
    """An outbox row an inbound message may be about."""

    id: int
    recipient: str
    dedupe_key: str
    kind: str


_ROW = select(outbox.c.id, outbox.c.recipient, outbox.c.dedupe_key, outbox.c.kind)


def _sent(r: Any) -> SentRow | None:
    if r is None:
        return None
    return SentRow(id=r.id, recipient=r.recipient, dedupe_key=r.dedupe_key, kind=r.kind)


_BY_ID = _ROW.where(outbox.c.id == bindparam("id"))
_BY_SENT_ID = _ROW.where(outbox.c.id == bindparam("id"), outbox.c.message_id == bindparam("mid"))
# A row from before 0021, through the partial index that holds those alone (its predicate
# literal, as SQLite needs to use it).
_BY_OLD_ID = _ROW.where(text(PRE_0021_MESSAGE_ID), outbox.c.message_id == bindparam("mid"))


def outbox_row(conn: Connection, outbox_id: int) -> SentRow | None:
    return _sent(conn.execute(_BY_ID, {"id": outbox_id}).first())


def outbox_by_message_id(conn: Connection, message_id: str) -> SentRow | None:
    """The row our Message-ID names: one index lookup, or none for another shape."""
    named = messageids.named(message_id)
    if named is None:
        return None
    if named.row_id is None:
        return _sent(conn.execute(_BY_OLD_ID, {"mid": named.stored}).first())
    return _sent(conn.execute(_BY_SENT_ID, {"id": named.row_id, "mid": named.stored}).first())


def last_sent_to(conn: Connection, addresses: Sequence[str]) -> SentRow | None:
    """The newest row sent to one of these addresses (compared case-insensitively)."""
    wanted = sorted({a.lower() for a in addresses})
    if not wanted:
        return None
    q = (
        _ROW.where(func.lower(outbox.c.recipient).in_(wanted), outbox.c.status == "sent")
        .order_by(outbox.c.id.desc())
        .limit(1)
    )
    return _sent(conn.execute(q).first())


_SEEN = select(inbound_messages.c.outcome, inbound_messages.c.matched).where(
    inbound_messages.c.key == bindparam("key")
)


_SEEN_MANY = select(
    inbound_messages.c.key, inbound_messages.c.outcome, inbound_messages.c.matched
).where(inbound_messages.c.key.in_(bindparam("keys", expanding=True)))
_ROWS = _ROW.where(outbox.c.id.in_(bindparam("ids", expanding=True)))


def seen_many(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[InboundOutcome, bool]]:
    """``seen`` for a batch, in one query."""
    if not keys:
        return {}
    found = conn.execute(_SEEN_MANY, {"keys": list(keys)})
    return {r.key: (r.outcome, r.matched == MATCHED) for r in found}


def outbox_rows(conn: Connection, ids: Sequence[int]) -> dict[int, SentRow]:
    """``outbox_row`` for a batch, in one query (ids of rows gone are left out)."""
    if not ids:
        return {}
    return {r.id: row for r in conn.execute(_ROWS, {"ids": list(ids)}) if (row := _sent(r))}


def seen(conn: Connection, key: str) -> tuple[InboundOutcome, bool] | None:
    """(outcome, matched) of a message recorded before under this key, else None."""
    r = conn.execute(_SEEN, {"key": key}).first()
    return None if r is None else (r.outcome, r.matched == MATCHED)


_RECORD_COLUMNS = ("key", "source", "received_at", "outcome", "matched", "outbox_id",
                   "digest_id", "run_id", "address", "detail")  # fmt: skip
# A plain INSERT, compiled once and cached (an ON CONFLICT clause is not cacheable, and this
# runs thousands of times a second). The caller has read ``seen`` in the same transaction; a
# concurrent insert of the same key (two processes on PostgreSQL) fails the unique key, the
# batch rolls back, and its next pass finds the record.
_RECORD = inbound_messages.insert().values({c: bindparam(f"b_{c}") for c in _RECORD_COLUMNS})


def record(
    conn: Connection,
    *,
    key: str,
    source: str,
    now: datetime,
    outcome: InboundOutcome,
    row: SentRow | None = None,
    digest_id: str | None = None,
    run_id: int | None = None,
    address: str | None = None,
    detail: str = "",
    defer: list[dict[str, Any]] | None = None,
    unverified: bool = False,
) -> None:
    """Insert the message's row (the caller checked ``seen`` first, in this transaction).

    ``defer``: append the row there instead, for ``record_many`` at the end of a batch (rows
    that no count in the same batch reads).

    ``unverified``: ``row`` was named only by address or Message-ID; the record keeps its
    outbox id but no address and no run, so no count (bounce score, run, rate) sees it."""
    matched = 0 if row is None else UNVERIFIED if unverified else MATCHED
    if unverified:
        digest_id = run_id = address = None
    values = {
        "key": key, "source": source[:80], "received_at": now, "outcome": outcome,
        "matched": matched, "outbox_id": row.id if row else None,
        "digest_id": digest_id, "run_id": run_id,
        "address": canonical(address) if address else None, "detail": detail[:2000],
    }  # fmt: skip
    params = {f"b_{k}": v for k, v in values.items()}
    if defer is not None:
        defer.append(params)
    else:
        conn.execute(_RECORD, params)


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The deferred rows of a batch, in one executemany."""
    if rows:
        conn.execute(_RECORD, rows)
        rows.clear()


_SOFT = select(func.count()).where(
    inbound_messages.c.address == bindparam("address"),
    inbound_messages.c.outcome == "soft_bounce",
    inbound_messages.c.received_at > bindparam("since"),
)


def soft_bounces(conn: Connection, address: str, *, since: datetime) -> int:
    return int(conn.execute(_SOFT, {"address": canonical(address), "since": since}).scalar() or 0)


_REASON = select(suppressions.c.reason).where(
    suppressions.c.email == bindparam("b_email"), suppressions.c.scope == "all"
)
_ADD = suppressions.insert().values(
    email=bindparam("b_email"), scope="all", reason=bindparam("b_reason"),
    detail=bindparam("b_detail"), created_at=bindparam("b_now"),
)  # fmt: skip
_STRONGER = (
    update(suppressions)
    .where(suppressions.c.email == bindparam("b_email"), suppressions.c.scope == "all")
    .values(
        reason=bindparam("b_reason"), detail=bindparam("b_detail"), created_at=bindparam("b_now")
    )
)


def suppress(conn: Connection, address: str, *, reason: str, detail: str, now: datetime) -> bool:
    """Suppress for every kind of mail; an entry of the reader's own (unsubscribed, deleted)
    becomes this stronger one, so confirming again no longer lifts it. True when new."""
    params = {"b_email": canonical(address), "b_reason": reason, "b_detail": detail[:500],
              "b_now": now}  # fmt: skip
    found = conn.execute(_REASON, params).first()
    if found is None:
        conn.execute(_ADD, params)
        return True
    if found.reason in _WEAKER:
        conn.execute(_STRONGER, params)
    return False


def run_counts(conn: Connection, run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Outcomes per digest run (bounces, complaints, …) of the inbound messages matched to
    it, each address once per outcome (a complaint sent again is one complaint)."""
    if not run_ids:
        return {}
    q = (
        select(
            inbound_messages.c.run_id,
            inbound_messages.c.outcome,
            func.count(distinct(inbound_messages.c.address)),
        )
        .where(inbound_messages.c.run_id.in_(list(run_ids)))
        .group_by(inbound_messages.c.run_id, inbound_messages.c.outcome)
    )
    out: dict[int, dict[str, int]] = {}
    for run_id, outcome, n in conn.execute(q):
        out.setdefault(int(run_id), {})[str(outcome)] = int(n)
    return out


_RUN_COMPLAINTS = select(func.count(distinct(inbound_messages.c.address))).where(
    inbound_messages.c.run_id == bindparam("run_id"), inbound_messages.c.outcome == "complaint"
)
_COMPLAINED = (
    select(inbound_messages.c.id)
    .where(
        inbound_messages.c.run_id == bindparam("run_id"),
        inbound_messages.c.outcome == "complaint",
        inbound_messages.c.address == bindparam("address"),
    )
    .limit(1)
)


def run_complaints(conn: Connection, run_id: int) -> int:
    """Complaining addresses of one run, each once (an index range: each complaint checks
    its run's rate)."""
    return int(conn.execute(_RUN_COMPLAINTS, {"run_id": run_id}).scalar() or 0)


def complained(conn: Connection, run_id: int, address: str) -> bool:
    """Has this address complained about this run before (a complaint sent again)?"""
    params = {"run_id": run_id, "address": canonical(address)}
    return conn.execute(_COMPLAINED, params).first() is not None


_UNSUBSCRIBE = (
    update(subscribers)
    .where(subscribers.c.email_key == bindparam("b_key"), subscribers.c.status != "unsubscribed")
    .values(status="unsubscribed", unsubscribed_at=bindparam("b_now"), confirm_nonce=None,
            pending_choice=None)
)  # fmt: skip


def unsubscribe_address(conn: Connection, address: str, *, now: datetime) -> bool:
    """A complaint: the subscriber with this address (canonical) unsubscribed, as
    ``subscribers.set_status`` does it, in one statement; False when none (or already)."""
    done = conn.execute(_UNSUBSCRIBE, {"b_key": canonical(address), "b_now": now})
    return bool(done.rowcount)


@dataclass(frozen=True, slots=True)
class DayCount:
    source: str
    day: str  # YYYY-MM-DD (UTC)
    outcome: str
    matched: int
    count: int


def day_counts(conn: Connection, *, since: datetime) -> list[DayCount]:
    day = func.date(inbound_messages.c.received_at)
    q = (
        select(
            inbound_messages.c.source, day, inbound_messages.c.outcome,
            inbound_messages.c.matched, func.count(),
        )
        .where(inbound_messages.c.received_at >= since)
        .group_by(inbound_messages.c.source, day, inbound_messages.c.outcome,
                  inbound_messages.c.matched)
        .order_by(day.desc(), inbound_messages.c.source)
    )  # fmt: skip
    return [
        DayCount(source=str(s), day=str(d), outcome=str(o), matched=int(m), count=int(n))
        for s, d, o, m, n in conn.execute(q)
    ]


def run_recipients(conn: Connection, run_id: int) -> tuple[str, int] | None:
    """(digest id, recipients) of a digest run; None when there is no such run."""
    r = conn.execute(
        select(digest_runs.c.digest_id, digest_runs.c.recipient_count).where(
            digest_runs.c.id == run_id
        )
    ).first()
    return None if r is None else (str(r.digest_id), int(r.recipient_count))
