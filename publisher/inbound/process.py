"""One inbound message from bytes to effect: understand it outside the transaction, apply it
inside one. Batches share a transaction (the Maildir source moves files only after it)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from publisher.inbound import effects
from publisher.inbound.classify import Verdict, classify
from publisher.inbound.effects import Applied, Rules
from publisher.inbound.message import Raw, key_of, parse
from publisher.store.types import Engine

# (source kind, outcome) for each message applied: the daemon counts them in prometheus.
OnOutcome = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Item:
    """One message to process: its bytes (or size) and a name that is stable across runs
    (a Maildir key, a path, an IMAP UID), used as its key when it cannot be read."""

    raw: Raw
    name: str
    recipients: tuple[str, ...] = ()


def understand(item: Item, limit: int) -> tuple[Verdict, str]:
    """(what it is, its idempotency key). Never raises on what the message contains."""
    raw = item.raw
    if raw.too_big or raw.size > limit:
        key = hashlib.sha256(f"too-big\0{item.name}\0{raw.size}".encode()).hexdigest()
        return Verdict(
            "unmatched", detail=f"{raw.size} bytes, over inbound_max_bytes: not read"
        ), key
    msg: Message | None = None
    try:
        msg = parse(raw.data)
        verdict = _verdict(msg, item.recipients)
    except Exception as exc:  # the email package on hostile input: kept, not a crash
        verdict = Verdict("unmatched", detail=f"cannot be parsed: {type(exc).__name__}")
    return verdict, key_of(msg, raw.data)


def _verdict(msg: Message, recipients: tuple[str, ...]) -> Verdict:
    if not msg.keys():
        return Verdict("unmatched", detail="no headers")
    return classify(msg, recipients=recipients)


def apply_batch(
    engine: Engine, rules: Rules, items: Sequence[Item], *, source: str, now: datetime,
    limit: int, on_outcome: OnOutcome | None = None,
) -> list[Applied]:  # fmt: skip
    """Understand each, then apply all in one transaction: committed together or not at all."""
    understood = [understand(item, limit) for item in items]
    with engine.begin() as conn:
        done = effects.apply_many(conn, rules, understood, source=source, now=now)
    if on_outcome is not None:
        kind = source.partition(":")[0]
        for applied in done:
            on_outcome(kind, "duplicate" if applied.duplicate else applied.outcome)
    return done
