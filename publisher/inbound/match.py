"""Which of our messages an inbound message is about.

First the VERP token in the envelope recipient (our ``bounce_address`` with ``+TOKEN``): a
token that verifies names its outbox row; one that does not (forged, cut, another site's)
or names a row that is gone matches nothing, and nothing else is tried. Without a token (a
bounce that lost its envelope), the original Message-ID, then the reported addresses, if we
sent them a message.

Only a token match may act (``Match.acts``). Anyone can mail a made-up bounce or feedback
report to our bounce address naming any reader we ever mailed; the reported addresses are
whatever the sender typed, and our Message-IDs are a hash of a guessable dedupe key
(messages/enqueue.py), so neither proves the message came back from the mailbox we sent to.
Such a match is recorded and kept for the operator, and does nothing. The signed webhooks of
the sending service are the exception (``Verdict.vouched``): the service that delivered the
message names the address, under its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from publisher.core import verp
from publisher.inbound.classify import Verdict
from publisher.store import inbound as store
from publisher.store.inbound import SentRow
from publisher.store.types import Connection


@dataclass(frozen=True, slots=True)
class Match:
    row: SentRow | None = None
    how: str = "none"  # verp | message-id | address | forged | unknown-row | none

    def acts(self, vouched: bool) -> bool:
        """May this match suppress, unsubscribe or count against a run? Only a VERP token
        (signed, names the outbox row), or a report the sending service signed."""
        return self.row is not None and (self.how == "verp" or vouched)

    @property
    def digest_run(self) -> tuple[str | None, int | None]:
        """(digest id, run id) of a digest row: its dedupe key is digest:ID:RUN:…"""
        if self.row is None:
            return None, None
        parts = self.row.dedupe_key.split(":")
        if len(parts) >= 3 and parts[0] == "digest" and parts[2].isdigit():
            return parts[1], int(parts[2])
        return None, None


@dataclass(frozen=True, slots=True)
class Base:
    """Our bounce address, split once: which envelope addresses are ours."""

    local: str
    domain: str
    secret: str

    @classmethod
    def of(cls, address: str, secret: str) -> Base:
        local, _, domain = address.lower().rpartition("@")
        return cls(local, domain, secret)

    def token_of(self, address: str) -> str | None:
        """The ``+TOKEN`` part when ``address`` is our bounce address with one."""
        local, _, domain = address.rpartition("@")
        head, plus, token = local.rpartition("+")
        if plus and domain == self.domain and head == self.local and token:
            return address
        return None


def verp_id(verdict: Verdict, base: Base) -> int | None:
    """The outbox row our VERP token names (None: no token, or one that does not verify)."""
    for address in verdict.envelope:
        if base.token_of(address) is not None:
            return verp.outbox_id(address, base.secret) if base.secret else None
    return None


def find(
    conn: Connection, verdict: Verdict, base: Base, rows: Mapping[int, SentRow] | None = None
) -> Match:
    """``rows``: outbox rows already read for a batch (a row not in it is looked up)."""
    for address in verdict.envelope:
        if base.token_of(address) is None:
            continue
        outbox_id = verp.outbox_id(address, base.secret) if base.secret else None
        if outbox_id is None:
            return Match(how="forged")
        row = rows.get(outbox_id) if rows else None
        row = row or store.outbox_row(conn, outbox_id)
        return Match(row, "verp") if row is not None else Match(how="unknown-row")
    for mid in verdict.message_ids:
        row = store.outbox_by_message_id(conn, mid)
        if row is not None:
            return Match(row, "message-id")
    if verdict.reported:
        row = store.last_sent_to(conn, verdict.reported)
        if row is not None:
            return Match(row, "address")
    return Match()
