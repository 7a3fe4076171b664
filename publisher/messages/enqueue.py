"""The outbox: what to send, written by the stages that decide; drained by delivery/drain.py.

Contract shared by every producer (digests, confirmations, shares, test sends):

- The rendered message is stored once per variant with ``store_content``: complete RFC 5322
  bytes with CRLF line endings, every line ≤ 998 bytes, and ASCII placeholders of the form
  ``%%NAME%%`` where per-recipient values go (e.g. ``%%TO%%``, ``%%UNSUBSCRIBE_URL%%``).
- Each recipient gets one row (``enqueue``) with its substitutions, ``{"%%TO%%": "…"}``.
  Values must already be in their wire form (RFC 2047 encoded where they sit in headers).
- Whoever commits many rows at once calls ``bulk.after_bulk`` next (the outbox's
  statistics, for the claims of the send on PostgreSQL).
- ``%%MESSAGE_ID%%`` is always filled in from the row's ``message_id``, which is derived
  from the dedupe key, with the row's id put in at the claim (core/messageids.py), so a
  retry carries the same Message-ID and a report that quotes it finds the row by key.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple, get_args

from publisher.core import messageids
from publisher.core.config import Settings
from publisher.core.errors import PublisherError
from publisher.core.vocab import OutboxKind, OutboxStatus, SuppressionReason, SuppressionScope
from publisher.store import outbox as store_outbox
from publisher.store import outboxrows as store_outboxrows
from publisher.store import suppressions as store_suppressions
from publisher.store.outboxrows import NewRow
from publisher.store.types import Connection

MESSAGE_ID_PLACEHOLDER = "%%MESSAGE_ID%%"


@dataclass(frozen=True, slots=True)
class NewMessage:
    dedupe_key: str
    kind: OutboxKind
    recipient: str
    content_id: int
    substitutions: dict[str, str] = field(default_factory=dict)
    expires_in: timedelta = timedelta(hours=24)
    # Held until then (advertising in the quiet hours, issue 18): the row is queued with its
    # next attempt at this time, so the drain's claim skips it until the window opens, and
    # its expiry runs from then, so the wait never expires it.
    not_before: datetime | None = None


def message_id_for(dedupe_key: str, domain: str) -> str:
    """The Message-ID a row stores (core/messageids.py: the drain puts the row's id in)."""
    return messageids.stored(dedupe_key, domain)


def store_content(
    conn: Connection, *, key: str, kind: OutboxKind, body: bytes, now: datetime
) -> int:
    return store_outbox.put_content(conn, key=key, kind=kind, body=body, now=now)


# json.dumps(value, ensure_ascii=False) builds a JSONEncoder per call; this is the same
# encoder, built once (a million rows a run).
_encode_json = json.JSONEncoder(ensure_ascii=False).encode

Addressed = tuple[str, str, int, Mapping[str, str]]
"""One reader's row of a batch: (dedupe key, recipient, content id, substitutions)."""


def enqueue(conn: Connection, messages: Iterable[NewMessage], *, now: datetime, domain: str) -> int:
    """Write rows in the caller's transaction; existing dedupe keys are left alone.

    Returns the number of new rows.
    """
    rows = [
        (m.dedupe_key, m.kind, m.recipient, m.content_id, _encode_json(m.substitutions),
         message_id_for(m.dedupe_key, domain), *_timing(m.not_before, m.expires_in, now))
        for m in messages
    ]  # fmt: skip
    return store_outboxrows.insert_rows(conn, rows, now=now)


def batch_rows(
    rows: Iterable[Addressed],
    *,
    kind: OutboxKind,
    expires_in: timedelta,
    not_before: datetime | None,
    now: datetime,
    domain: str,
) -> list[NewRow]:
    """``enqueue``'s rows for readers of one kind and one timing (a digest run's batch),
    without a NewMessage per reader, what they share computed once, and built without
    touching the database (a streamed run builds
    the next batch while the last one is written)."""
    start, expires = _timing(not_before, expires_in, now)
    return [
        (key, kind, recipient, cid, _encode_json(subs), message_id_for(key, domain), start, expires)
        for key, recipient, cid, subs in rows
    ]


def write_rows(conn: Connection, rows: Sequence[NewRow], *, now: datetime) -> int:
    """Rows built by ``batch_rows``, written in the caller's transaction; returns new rows."""
    return store_outboxrows.insert_rows(conn, rows, now=now)


def prepare_write(conn: Connection, rows: Sequence[NewRow], *, now: datetime) -> Callable[[], int]:
    """``write_rows`` in two steps: the statement's data is formatted now; the returned call
    writes it (→ new rows) and touches only the driver connection, so it may run on another
    thread (store/outboxrows.prepare)."""
    return store_outboxrows.prepare(conn, rows, now=now)


def _timing(
    not_before: datetime | None, expires_in: timedelta, now: datetime
) -> tuple[datetime, datetime]:
    """(next attempt, expiry): a held row waits until ``not_before``; its expiry runs from then."""
    start = now if not_before is None or not_before <= now else not_before
    return start, start + expires_in


# --- the drain's side: claim with a lease, then mark ---

STATUSES: tuple[OutboxStatus, ...] = get_args(OutboxStatus)
KINDS: tuple[OutboxKind, ...] = get_args(OutboxKind)


class Claimed(NamedTuple):
    """One leased row, ready to personalise and send (a tuple: the drain's database thread
    makes hundreds a claim, and a frozen dataclass costs four times as much to build)."""

    id: int
    kind: OutboxKind
    recipient: str
    content_id: int
    substitutions: dict[str, str]
    message_id: str
    attempts: int
    expires_at: datetime

    @property
    def domain(self) -> str:
        return self.recipient.rpartition("@")[2].lower()


# The reader's own suppressions: a confirmation mail passes them (the reader asked to come
# back; confirming lifts them, see signup.confirm). A bounce or complaint stops it.
READER_OWN: tuple[SuppressionReason, ...] = ("unsubscribed", "deleted")


def blocks(kind: OutboxKind, entries: set[tuple[SuppressionScope, str]]) -> bool:
    """Whether suppression entries (scope, reason) stop a message of this kind.

    Scope ``all`` stops everything, except that a reader who unsubscribed or deleted their
    data and signs up again must still get the confirmation (confirming lifts the entry; a
    hard bounce still stops it). Scope ``share`` stops only shared articles: the reader
    blocked those alone.
    """
    for scope, reason in entries:
        if scope == "all" and not (kind == "confirm" and reason in READER_OWN):
            return True
        if scope == "share" and kind == "share":
            return True
    return False


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    host: str | None = None,
    process: str | None = None,
) -> tuple[list[Claimed], int]:
    """Lease up to ``limit`` due rows to ``owner`` in the caller's transaction.

    Rows past ``expires_at`` become ``expired`` and rows whose recipient is on the
    suppression list become ``suppressed`` here, so neither is ever handed to the mailer.
    Returns the live rows and how many were set aside that way.
    """
    rows = store_outbox.claim(
        conn, owner=owner, now=now, lease_until=now + lease, limit=limit, host=host,
        process=process,
    )  # fmt: skip
    expired = [r.id for r in rows if r.expires_at <= now]
    live = rows
    if expired:
        store_outbox.set_final(conn, expired, status="expired", now=now)
        live = [r for r in rows if r.expires_at > now]
    gone = _suppressed(conn, live)
    if gone:
        store_outbox.set_final(conn, list(gone), status="suppressed", now=now, reply="suppressed")
    loads, make, sent_id = json.loads, Claimed._make, messageids.sent
    claimed = [
        make((r.id, r.kind, r.recipient, r.content_id, loads(r.substitutions or "{}"),
              sent_id(r.message_id, r.id), r.attempts, r.expires_at))
        for r in live
        if r.id not in gone
    ]  # fmt: skip
    return claimed, len(expired) + len(gone)


def _suppressed(
    conn: Connection, rows: Sequence[store_outbox.ClaimedRow] | Sequence[Claimed]
) -> set[int]:
    """The ids of the rows whose recipient's suppressions stop their kind (usually none)."""
    listed = store_outbox.suppressions_for(conn, [r.recipient for r in rows])
    if not listed:
        return set()
    return {r.id for r in rows if (e := listed.get(r.recipient.lower())) and blocks(r.kind, e)}


def recheck(
    conn: Connection, items: Sequence[Claimed], *, now: datetime, owner: str
) -> list[Claimed]:
    """Look up the suppression list again just before sending (one indexed query): a reader
    who unsubscribed after the claim is not mailed. Blocked rows become ``suppressed``."""
    if not items:
        return []
    gone = _suppressed(conn, items)
    if not gone:
        return list(items)
    store_outbox.set_final(
        conn, list(gone), status="suppressed", now=now, reply="suppressed", owner=owner
    )
    return [i for i in items if i.id not in gone]


def expiry_for(settings: Settings, kind: OutboxKind) -> timedelta:
    """How long a message of ``kind`` may wait (the setting expiry_<kind>)."""
    expiries: dict[OutboxKind, timedelta] = {
        "digest": settings.expiry_digest, "confirm": settings.expiry_confirm,
        "share": settings.expiry_share, "test": settings.expiry_test,
        "alert": settings.alert_expiry, "reconfirm": settings.expiry_reconfirm,
    }  # fmt: skip
    return expiries[kind]


def mark_sent(conn: Connection, ids: Sequence[int], *, now: datetime, owner: str) -> int:
    """Only after the server's 250; only rows still leased to ``owner``."""
    return store_outbox.set_final(conn, ids, status="sent", now=now, owner=owner)


def mark_failed(
    conn: Connection, item: Claimed, *, reply: str, now: datetime, hard_bounce: bool
) -> None:
    """Permanent failure; a hard bounce also puts the address on the suppression list."""
    store_outbox.set_final(conn, [item.id], status="failed", now=now, reply=reply)
    if hard_bounce:
        store_suppressions.add(
            conn, [item.recipient], reason="hard_bounce", detail=reply[:500], now=now
        )


def mark_retry(
    conn: Connection, item: Claimed, *, reply: str, now: datetime, at: datetime
) -> Literal["expired", "deferred"]:
    """Temporary failure: deferred until ``at``, or expired when that is past its expiry."""
    if at >= item.expires_at:
        store_outbox.set_final(conn, [item.id], status="expired", now=now, reply=reply)
        return "expired"
    store_outbox.defer(conn, item.id, at=at, reply=reply, now=now)
    return "deferred"


def postpone(conn: Connection, item: Claimed, *, reply: str, now: datetime, at: datetime) -> None:
    """The row was never tried (the relay was unreachable): back off without using an attempt."""
    store_outbox.defer(conn, item.id, at=at, reply=reply, now=now, refund=True)


def release(
    conn: Connection, ids: Sequence[int], *, now: datetime, owner: str | None = None
) -> None:
    """Hand untried leased rows back at once (graceful stop)."""
    store_outbox.release(conn, ids, now=now, owner=owner)


def backoff(
    attempts: int,
    *,
    minimum: timedelta,
    maximum: timedelta,
    rng: random.Random | None = None,
) -> timedelta:
    """Exponential from ``minimum`` (×4 per attempt) up to ``maximum``, with ±25 % jitter.

    Attempt 1 → ~1 min, 2 → ~4 min, 3 → ~16 min, 4 → ~64 min, then ~4 h each.
    """
    low, high = minimum.total_seconds(), maximum.total_seconds()
    base = min(high, low * 4 ** max(attempts - 1, 0))
    jitter = (rng or random).uniform(0.75, 1.25)
    return timedelta(seconds=max(low, min(high, base * jitter)))


class SubstitutionError(PublisherError, ValueError):
    """A per-recipient value that would break its message (a line break in a header).

    A ``ValueError`` too: the drain fails the item on any ``ValueError`` from personalising.
    """


class Template:
    """Stored content split at its placeholders once, so each message is a single join."""

    def __init__(self, body: bytes) -> None:
        self.parts = _PLACEHOLDER.split(body)
        # Where each placeholder stands, by name: a digest repeats a few names many times
        # (a reader's part of every tracked link), so a fill looks each value up once.
        slots: dict[str, list[int]] = {}
        for i in range(1, len(self.parts), 2):
            slots.setdefault(self.parts[i].decode("ascii"), []).append(i)
        self.names = set(slots)
        # A placeholder that starts a line and is followed by a dot or by another placeholder:
        # an empty value there leaves what follows leading the line, and a dot there unstuffed
        # (``.<CRLF>`` ends the message early). The drain fills such rows the slow way.
        parts = self.parts
        self.dot_risk = any(
            (parts[i - 1].endswith(b"\n") or (i == 1 and not parts[0]))
            and parts[i + 1][:1] in (b".", b"")
            for i in range(1, len(parts), 2)
        )
        self._message_id = tuple(slots.pop(MESSAGE_ID_PLACEHOLDER, ()))
        self._slots = [(name, tuple(where)) for name, where in slots.items()]

    def fill(self, item: Claimed, joined: str | None = None) -> bytes:
        """``joined``: the row's substitution values joined by NUL, if the caller has it."""
        subs = item.substitutions
        if joined is None:
            joined = "\0".join(subs.values())
        if "\r" in joined or "\n" in joined:  # one look at every value; then which one
            for name, _ in self._slots:
                if "\r" in subs.get(name, "") or "\n" in subs.get(name, ""):
                    raise SubstitutionError(f"substitution {name}: value contains a line break")
        parts = self.parts[:]
        message_id = item.message_id.encode("utf-8")
        for i in self._message_id:
            parts[i] = message_id
        get = subs.get
        for name, where in self._slots:
            value = get(name)
            if value is not None:
                data = value.encode("utf-8")
                for i in where:
                    parts[i] = data
        return b"".join(parts)


_PLACEHOLDER = re.compile(rb"(%%[A-Z0-9_]+%%)")


def personalise(template: bytes, item: Claimed) -> bytes:
    """Fill the row's substitutions and its Message-ID into the stored content."""
    return fill(template, item.substitutions, item.message_id)


def fill(template: bytes, substitutions: Mapping[str, str], message_id: str) -> bytes:
    """Splice per-recipient values into stored content, in one pass.

    Values go in as UTF-8. A value with CR or LF is refused where its placeholder stands in
    the header block (header injection); in the body a producer may fold text into CRLF lines
    (a share's note does), and the sender dot-stuffs the finished message.
    """
    end = template.find(b"\r\n\r\n")
    head = template if end < 0 else template[:end]
    for name, value in substitutions.items():
        if ("\r" in value or "\n" in value) and name.encode() in head:
            raise SubstitutionError(f"substitution {name}: header value contains a line break")
    # The row's Message-ID always: it is what the outbox records and inbound mail is matched
    # by, and Template.fill (the drain's fast path) does the same.
    values = {**substitutions, MESSAGE_ID_PLACEHOLDER: message_id}

    # One pass: a value is never searched again, so a placeholder a reader typed into a value
    # (a share note, an imported name) stays literal text instead of being filled in turn.
    def filled(found: re.Match[bytes]) -> bytes:
        text = values.get(found.group(0).decode("ascii"))
        return found.group(0) if text is None else text.encode("utf-8")

    return _PLACEHOLDER.sub(filled, template)
