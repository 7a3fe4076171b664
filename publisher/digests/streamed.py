"""A run's fan-out, streamed: readers come in id order a batch at a time, each variant is
rendered the first time one of its readers comes, and rows are enqueued batch by batch, all in
the run's one transaction. Nothing holds the list, so memory stays flat at a million readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from publisher.core.schedules import Digest
from publisher.digests.selection import Grouper, Variant
from publisher.store import consent as store_consent
from publisher.store import subscribers as store_subscribers
from publisher.store.subscribers import Recipient
from publisher.store.types import Connection

BATCH = 2000  # rows per enqueue: enough to amortise a statement, small next to the list

ContentFor = Callable[[Variant, int], int]  # (variant, its number from 1) → stored content id
Send = Callable[[dict[int, list[Recipient]]], int]  # content id → readers; new outbox rows


@dataclass(frozen=True, slots=True)
class FannedOut:
    variants: list[Variant]  # with no recipients listed: they were enqueued as they came
    recipients: int  # readers whose variant had something to send
    enqueued: int
    skipped: int


def readers(conn: Connection, digest: Digest) -> Iterator[Recipient]:
    """This digest's recipients as of now, streamed; advertising skips lapsed consent."""
    people = store_subscribers.iter_recipients(conn, frequency=digest.frequency, batch=BATCH)
    if not digest.advertising:
        return people
    lapsed = store_consent.lapsed_ids(conn)
    return (p for p in people if p.id not in lapsed)


def fan_out(
    grouper: Grouper,
    people: Iterator[Recipient],
    *,
    content_for: ContentFor,
    send: Send | None,
    batch: int | None = None,
) -> FannedOut:
    """Give every reader their variant's row; ``send`` None only counts (a run kept for
    approval renders its variants and queues nothing)."""
    batch = batch or BATCH
    contents: dict[str, int] = {}
    pending: dict[int, list[Recipient]] = {}
    recipients = enqueued = waiting = 0
    for r in people:
        variant = grouper.variant_for(r)
        if variant is None:
            continue
        recipients += 1
        cid = contents.get(variant.key)
        if cid is None:
            cid = contents[variant.key] = content_for(variant, len(contents) + 1)
        if send is None:
            continue
        pending.setdefault(cid, []).append(r)
        waiting += 1
        if waiting >= batch:
            enqueued += _flush(pending, send)
            waiting = 0
    if send is not None:
        enqueued += _flush(pending, send)
    return FannedOut(grouper.variants, recipients, enqueued, grouper.skipped)


def _flush(pending: dict[int, list[Recipient]], send: Send) -> int:
    """One statement per batch, whatever the variants: per variant, a batch of 2,000 spread
    over 93 variants made ~21-row statements, and the statements' overhead dominated."""
    enqueued = send(pending) if pending else 0
    pending.clear()
    return enqueued
