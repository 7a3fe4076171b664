"""What the console's pages look up: readers and their messages, the outbox, suppressions,
articles. Searches are index ranges (prefixes), never scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.core.addresses import AddressError, canonical, to_ascii
from publisher.core.models import Subscriber
from publisher.store import consoleviews, stats
from publisher.store import outbox as store_outbox
from publisher.store import subscribers as store_subscribers
from publisher.store.consoleviews import ArticleLine, Found, Message
from publisher.store.stats import Held
from publisher.store.types import Engine

__all__ = ["ArticleLine", "Found", "Message", "OutboxGlance", "Reader", "find", "reader"]
SEARCH_LIMIT = 50
MESSAGE_LIMIT = 200


def _key_prefix(text: str) -> str:
    """The canonical form of what was typed so far: a whole address is canonicalised
    (Gmail dots and all), a prefix is lower-cased (and IDN-encoded when it can be)."""
    text = text.strip()
    if "@" in text and "." in text.rpartition("@")[2]:
        try:
            return canonical(text)
        except (AddressError, ValueError):
            pass
    return text.lower()


def find(engine: Engine, query: str, *, limit: int = SEARCH_LIMIT) -> list[Found]:
    """Readers whose address (case-insensitive) or name starts with ``query``."""
    query = query.strip()[:320]
    if not query:
        return []
    with engine.connect() as conn:
        return consoleviews.search_subscribers(
            conn, key=_key_prefix(query), name="" if "@" in query else query, limit=limit
        )


@dataclass(frozen=True, slots=True)
class Reader:
    subscriber: Subscriber
    messages: list[Message]


def reader(engine: Engine, subscriber_id: int) -> Reader | None:
    """A reader and every message we queued for them, newest first."""
    with engine.connect() as conn:
        who = store_subscribers.subscriber_by_id(conn, subscriber_id, issued=None)
        if who is None:
            return None
        addresses = sorted({who.email, _ascii(who.email)})
        sent = consoleviews.messages_to(conn, addresses, limit=MESSAGE_LIMIT)
    return Reader(who, sent)


def _ascii(email: str) -> str:
    try:
        return to_ascii(email)
    except (AddressError, ValueError):
        return email


def outbox_rows(
    engine: Engine, *, status: str | None, kind: str | None, domain: str | None, limit: int = 100
) -> list[Message]:
    domain = (domain or "").strip().lower().lstrip("@")[:253] or None
    with engine.connect() as conn:
        return consoleviews.outbox_rows(conn, status=status, kind=kind, domain=domain, limit=limit)


@dataclass(frozen=True, slots=True)
class OutboxGlance:
    """The outbox without counting its millions of finished rows: what waits, per status
    (an index range), the oldest, the next retry, why messages are deferred, and the queued
    rows held for the quiet hours (not due before a later time)."""

    waiting: dict[str, int]
    oldest: datetime | None
    next_retry: datetime | None
    reasons: list[tuple[str, int]]
    held: Held


def outbox_glance(engine: Engine, *, now: datetime) -> OutboxGlance:
    with engine.connect() as conn:
        depth, oldest = consoleviews.waiting(conn)
        return OutboxGlance(
            depth, oldest, store_outbox.next_retry(conn), store_outbox.top_deferral_reasons(conn),
            stats.held_queued(conn, now=now),
        )  # fmt: skip


def suppressions(engine: Engine, prefix: str, *, limit: int = 200) -> list[object]:
    with engine.connect() as conn:
        return consoleviews.search_suppressions(conn, prefix=prefix.strip().lower(), limit=limit)


def articles(engine: Engine, *, limit: int = 50) -> list[ArticleLine]:
    with engine.connect() as conn:
        return consoleviews.recent_articles(conn, limit=limit)
