"""Writing the consent log, in the caller's transaction (the change and its proof commit
together, or neither does).

Addresses and IPs are stored only as keyed hashes (HMAC-SHA256 with the site secret): a bare
SHA-256 of an e-mail address or an IPv4 address is reversed by hashing every candidate (all
4 billion IPv4 addresses take minutes), while the keyed hash cannot be recomputed without
the secret that never leaves the server's configuration.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from publisher.core.addresses import canonical
from publisher.core.config import Settings
from publisher.core.tokens import DEMO_SECRET
from publisher.core.vocab import ConsentChannel, ConsentEvent
from publisher.store import consent as store
from publisher.store.types import Connection

# Only when no secret_key is configured (tests, a CLI without one): the hash is then keyed
# with this public constant, so the same address still maps to the same history.
UNKEYED = "publisher-consent-no-secret-key"


def keyed_hash(secret: str, value: str) -> str:
    key = (secret or UNKEYED).encode("utf-8")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def address_hash(secret: str, email: str) -> str:
    return keyed_hash(secret, "address:" + canonical(email))


@dataclass(frozen=True, slots=True)
class Act:
    """Who did it and how: the channel, the client's keyed IP hash, the consent text shown."""

    channel: ConsentChannel
    secret: str  # the site key (``site_key``): one history per address across every channel
    ip_hash: str | None = None
    text_version: str = ""


def record(
    conn: Connection, act: Act, *, email: str, subscriber_id: int | None, event: ConsentEvent,
    now: datetime, at: datetime | None = None, advertising: bool = False,
    detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Append one row; ``at`` is when it happened (an import's source date), else ``now``."""
    store.append(
        conn,
        [
            store.Entry(
                address_hash=address_hash(act.secret, email), subscriber_id=subscriber_id,
                event=event, channel=act.channel, at=at or now, recorded_at=now,
                ip_hash=act.ip_hash, text_version=act.text_version, advertising=advertising,
                detail=detail,
            )
        ],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fact:
    """One row an import would write, as the evidence it carries: the event, the source's
    date (None: the source gave none) and the detail that names the evidence."""

    event: ConsentEvent
    at: datetime | None
    evidence: Mapping[str, Any]


def _holds(entry: store.Entry, channel: ConsentChannel, fact: Fact) -> bool:
    detail = entry.detail or {}
    return (
        entry.event == fact.event
        and entry.channel == channel
        and (fact.at is None or entry.at == fact.at)
        and all(detail.get(k) == v for k, v in fact.evidence.items())
    )


def logged(conn: Connection, act: Act, email: str, facts: Sequence[Fact]) -> bool:
    """Whether the address's log already holds every one of ``facts`` from ``act``'s channel:
    the same file imported again brings no new proof, and must not add rows to the log."""
    rows = store.history(conn, address_hash(act.secret, email))
    return all(any(_holds(r, act.channel, f) for r in rows) for f in facts)


def has_lapsed(conn: Connection, subscriber_id: int) -> bool:
    """Whether the reader's advertising consent lapsed (reconfirmation unanswered)."""
    return store.has_lapsed(conn, subscriber_id)


def consented(conn: Connection, subscriber_id: int, *, at: datetime) -> None:
    """Advertising consent is (re)given at ``at`` (a confirmation, a reconfirmation)."""
    store.set_consented(conn, subscriber_id, at=at)


def site_key(settings: Settings) -> str:
    """The key the web pages hash with (``Identity.secret``), so the CLI, the API and the
    pages write one history per address."""
    return settings.secret_key or (DEMO_SECRET if settings.demo else "")


def act_of(settings: Settings, channel: ConsentChannel) -> Act:
    """An operator's act (CLI, API, console, import): no client IP is recorded."""
    return Act(channel, site_key(settings), None, settings.consent_text_version)
