"""Named queries for the web side: rate counters, the share log, one subscriber by id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from publisher.core.addresses import canonical
from publisher.core.models import Article, Subscriber
from publisher.store.articles import article_from_row, select_articles
from publisher.store.db import UTCDateTime
from publisher.store.schema import (
    articles,
    contents,
    digest_runs,
    rate_counters,
    share_log,
    subscriber_aliases,
    subscribers,
    subscriptions,
    suppressions,
)
from publisher.store.subscribers import get_by_email

# Plain SQL that both SQLite (≥ 3.35) and PostgreSQL accept. SQLAlchemy cannot cache the
# compiled form of its dialect upserts, and compiling cost more than running it.
_BUMP = text(
    "INSERT INTO rate_counters (key, window_start, count) VALUES (:key, :window_start, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 "
    "RETURNING count"
).bindparams(bindparam("window_start", type_=UTCDateTime()))


def bump(conn: Connection, key: str, window_start: datetime) -> int:
    """Add one to a counter in the caller's transaction; returns the new count."""
    found = conn.execute(_BUMP, {"key": key, "window_start": window_start}).scalar_one()
    return int(found)


def prune_counters(conn: Connection, *, before: datetime) -> int:
    return conn.execute(delete(rate_counters).where(rate_counters.c.window_start < before)).rowcount


_LOG_SHARE = insert(share_log)


def log_share(
    conn: Connection, *, article_id: str, recipient: str, ip_hash: str, sender_name: str,
    enqueued: bool, now: datetime,
) -> int:  # fmt: skip
    pk = conn.execute(
        _LOG_SHARE,
        {"article_id": article_id, "recipient": recipient, "ip_hash": ip_hash,
         "sender_name": sender_name, "enqueued": int(enqueued), "created_at": now},
    ).inserted_primary_key  # fmt: skip
    assert pk is not None
    return int(pk[0])


def share_recipient(conn: Connection, share_id: int) -> str | None:
    value = conn.execute(select(share_log.c.recipient).where(share_log.c.id == share_id)).scalar()
    return None if value is None else str(value)


def shares(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    q = select(share_log).order_by(share_log.c.id.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


_SUPPRESSED = select(suppressions.c.email).where(
    suppressions.c.email == bindparam("email"), suppressions.c.scope == bindparam("scope")
)
_CONTENT_ID = select(contents.c.id).where(contents.c.key == bindparam("key"))


_ARTICLE = select_articles().where(articles.c.external_id == bindparam("external_id"))


def published_article(conn: Connection, external_id: str) -> Article | None:
    """The article if it is published (a statement built once: this is on the share path)."""
    row = conn.execute(_ARTICLE, {"external_id": external_id}).first()
    if row is None:
        return None
    found = article_from_row(row)
    return found if found.status == "published" else None


def is_suppressed(conn: Connection, email: str, scope: str) -> bool:
    found = conn.execute(_SUPPRESSED, {"email": canonical(email), "scope": scope}).first()
    return found is not None


def content_id(conn: Connection, key: str) -> int | None:
    """The id of stored content by key, if stored (cheaper than an insert that does nothing)."""
    found = conn.execute(_CONTENT_ID, {"key": key}).scalar()
    return None if found is None else int(found)


def unsuppress(conn: Connection, email: str, *, reason: str) -> None:
    """Lift our own "unsubscribed" entry when the reader confirms again; bounces stay."""
    conn.execute(
        delete(suppressions).where(
            suppressions.c.email == canonical(email),
            suppressions.c.scope == "all",
            suppressions.c.reason == reason,
        )
    )


def subscriber_by_id(conn: Connection, subscriber_id: int) -> Subscriber | None:
    """By id, or by an id merged into another one (migration 0008) for links already mailed."""
    email = conn.execute(
        select(subscribers.c.email).where(subscribers.c.id == subscriber_id)
    ).scalar()
    if email is None:
        email = conn.execute(
            select(subscribers.c.email)
            .join(subscriber_aliases, subscriber_aliases.c.subscriber_id == subscribers.c.id)
            .where(subscriber_aliases.c.old_id == subscriber_id)
        ).scalar()
    return None if email is None else get_by_email(conn, str(email))


def set_status(conn: Connection, subscriber_id: int, status: str, *, now: datetime) -> None:
    """A new status ends any pending confirmation request (its token stops working)."""
    values: dict[str, Any] = {"status": status, "confirm_nonce": None, "pending_choice": None}
    if status == "confirmed":
        values.update(confirmed_at=now, unsubscribed_at=None)
    elif status == "unsubscribed":
        values["unsubscribed_at"] = now
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(**values))


def set_choice(
    conn: Connection, subscriber_id: int, *, sections: Sequence[str], frequency: str,
    name: str | None = None, language: str | None = None,
) -> None:  # fmt: skip
    values: dict[str, Any] = {"frequency": frequency}
    if name is not None:
        values["name"] = name
    if language is not None:
        values["language"] = language
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(**values))
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id))
    wanted = sorted(set(sections))
    if wanted:
        conn.execute(
            insert(subscriptions), [{"subscriber_id": subscriber_id, "section": s} for s in wanted]
        )


@dataclass(frozen=True, slots=True)
class Pending:
    """A confirmation request: the nonce its token carries and the choice it asked for."""

    nonce: int
    choice: dict[str, Any] | None  # None: the row itself holds the choice (a new sign-up)


def set_pending(
    conn: Connection, subscriber_id: int, *, nonce: int, choice: dict[str, Any] | None
) -> None:
    """Record the one pending request (replacing an older one, whose token then fails)."""
    held = None if choice is None else json.dumps(choice, ensure_ascii=False, sort_keys=True)
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(confirm_nonce=nonce, pending_choice=held)
    )


def pending(conn: Connection, subscriber_id: int) -> Pending | None:
    r = conn.execute(
        select(subscribers.c.confirm_nonce, subscribers.c.pending_choice).where(
            subscribers.c.id == subscriber_id
        )
    ).first()
    if r is None or r.confirm_nonce is None:
        return None
    choice = json.loads(r.pending_choice) if r.pending_choice else None
    return Pending(int(r.confirm_nonce), choice if isinstance(choice, dict) else None)


def delete_subscriber(conn: Connection, subscriber_id: int) -> None:
    conn.execute(
        delete(subscriber_aliases).where(subscriber_aliases.c.subscriber_id == subscriber_id)
    )
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id))
    conn.execute(delete(subscribers).where(subscribers.c.id == subscriber_id))


def run_archive(conn: Connection, digest_id: str, run_id: int) -> tuple[str, str] | None:
    """(subject, archive html) of a run of this digest that has an archive copy."""
    r = conn.execute(
        select(digest_runs.c.subject, digest_runs.c.archive_html).where(
            digest_runs.c.id == run_id, digest_runs.c.digest_id == digest_id
        )
    ).first()
    if r is None or not r.archive_html:
        return None
    return str(r.subject), str(r.archive_html)
