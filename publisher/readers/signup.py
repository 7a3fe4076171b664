"""Reader self-service: subscribe (double opt-in), confirm, unsubscribe, preferences, my data.

Every answer a reader sees is the same whether the address was known or not; the only
difference is whether a confirmation email is enqueued, and that work runs after the answer
(see web/pages.py), so its time does not tell either.

A confirmation token names one pending request: the subscriber id and a random nonce stored
with the row. A new request replaces the nonce, confirming or any status change clears it, so
a token confirms exactly the request it was mailed for, once. The choice a request asks for
(name, sections, frequency, language) is held with it and applied only on confirmation: a
stranger who signs up someone else's address changes nothing of theirs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from publisher.core import tokens
from publisher.core.addresses import canonical, to_ascii
from publisher.core.models import Subscriber
from publisher.messages import mime
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.messages.fanout import Identity
from publisher.render.templates import Renderer
from publisher.store import ratecounters
from publisher.store import subscribers as store_subscribers
from publisher.store import suppressions as store_suppressions
from publisher.store.types import Engine


def address_key(prefix: str, email: str) -> str:
    """A counter key that names an address (its canonical form) without storing it."""
    return prefix + hashlib.sha256(canonical(email).encode("utf-8")).hexdigest()[:40]


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


class TooMany(Exception):
    """This client asked for too many subscriptions this hour."""


def admit(engine: Engine, *, client: str, per_client_hour: int, now: datetime) -> None:
    """Count one sign-up for this client (a keyed hash of the IP): TooMany over the limit.

    Stops one client signing up many strangers (subscription bombing). The same work for
    every address, so it can run before the answer; a refused try is rolled back.
    """
    if not per_client_hour:
        return
    with engine.begin() as conn:
        hour = now.replace(minute=0, second=0, microsecond=0)
        if ratecounters.bump(conn, f"subscribe-ip:{client}", hour) > per_client_hour:
            raise TooMany()


def subscribe(
    engine: Engine, identity: Identity, renderer: Renderer, *, email: str, name: str,
    sections: Sequence[str], frequency: str, language: str, now: datetime, cap_per_day: int,
) -> bool:  # fmt: skip
    """Record a pending request and enqueue its confirmation; True when one was enqueued.

    Nothing for a confirmed address (a stranger must not change their choice) and nothing
    past ``cap_per_day`` confirmations to one mailbox (counted on the canonical address).
    """
    with engine.begin() as conn:
        who = store_subscribers.get_by_email(conn, email)
        if who is not None and who.status == "confirmed":
            return False
        sent = ratecounters.bump(conn, address_key("confirm:", email), day_start(now))
        if sent > cap_per_day:
            return False
        nonce = secrets.randbelow(2**31 - 1) + 1  # fits a 32-bit INTEGER on both backends
        if who is None:
            store_subscribers.upsert(
                conn, email=email, name=name, sections=sections, frequency=frequency,
                status="pending", now=now, language=language,
            )  # fmt: skip
            who = store_subscribers.get_by_email(conn, email)
            assert who is not None
            store_subscribers.set_pending(conn, who.id, nonce=nonce, choice=None)
        else:
            choice = {"name": name, "sections": sorted(set(sections)), "frequency": frequency,
                      "language": language}  # fmt: skip
            store_subscribers.set_pending(conn, who.id, nonce=nonce, choice=choice)
        _enqueue_confirm(conn, identity, renderer, who, nonce=nonce, name=name, count=sent,
                         now=now)  # fmt: skip
        return True


def _enqueue_confirm(
    conn: Any, identity: Identity, renderer: Renderer, who: Subscriber, *, nonce: int,
    name: str, count: int, now: datetime,
) -> None:  # fmt: skip
    token = tokens.make(identity.secret, "confirm", (who.id, nonce), now=now)
    rendered = renderer.confirm(confirm_url=f"{identity.base_url}/confirm/{token}")
    body = mime.compose(rendered=rendered, sender=identity.sender, date=now)
    key = f"confirm:{who.id}:{now:%Y%m%d}:{count}"
    cid = store_content(conn, key=key, kind="confirm", body=body, now=now)
    msg = NewMessage(
        dedupe_key=key, kind="confirm", recipient=to_ascii(who.email), content_id=cid,
        substitutions={mime.TO: mime.address(name, who.email)},
        expires_in=identity.expiries["confirm"],
    )  # fmt: skip
    enqueue(conn, [msg], now=now, domain=identity.message_id_domain)


def subscriber_for(engine: Engine, secret: str, purpose: tokens.Purpose, token: str, *,
                   now: datetime) -> Subscriber | None:  # fmt: skip
    """The subscriber a valid token names (None once deleted); TokenError when invalid."""
    ids = tokens.read(secret, purpose, token, now=now)
    with engine.connect() as conn:
        return store_subscribers.subscriber_by_id(conn, ids[0])


def _token_matches(
    who: Subscriber, held: store_subscribers.Pending | None, ids: tuple[int, ...]
) -> bool:
    if len(ids) == 2:
        return held is not None and held.nonce == ids[1]
    # A token mailed before requests had nonces (migration 0008): only for a first sign-up
    # still pending, never for an address that was confirmed before (the replay of 11.13).
    return held is None and who.status == "pending" and who.confirmed_at is None


def confirm(engine: Engine, secret: str, token: str, *, now: datetime) -> bool:
    """Confirm the pending request the token was issued for; any other token changes nothing."""
    ids = tokens.read(secret, "confirm", token, now=now)
    with engine.begin() as conn:
        who = store_subscribers.subscriber_by_id(conn, ids[0])
        if who is None:
            return False
        held = store_subscribers.pending(conn, who.id)
        if not _token_matches(who, held, ids):
            return False
        if held is not None and held.choice is not None:
            c = held.choice
            store_subscribers.set_choice(
                conn, who.id, sections=list(c.get("sections") or []),
                frequency=str(c.get("frequency") or who.frequency),
                name=str(c.get("name") or who.name), language=c.get("language"),
            )  # fmt: skip
        store_subscribers.set_status(conn, who.id, "confirmed", now=now)  # clears the request
        store_suppressions.unsuppress(conn, who.email, reason="unsubscribed")
        return True


def unsubscribe_id(engine: Engine, subscriber_id: int, *, now: datetime) -> None:
    """Idempotent; the suppression makes the delivery drop digests already queued."""
    with engine.begin() as conn:
        who = store_subscribers.subscriber_by_id(conn, subscriber_id)
        if who is None:
            return
        if who.status != "unsubscribed":
            store_subscribers.set_status(conn, who.id, "unsubscribed", now=now)
        store_subscribers.suppress(conn, email=who.email, reason="unsubscribed", now=now)


def update_choice(
    engine: Engine, subscriber_id: int, *, sections: Sequence[str], frequency: str
) -> None:
    with engine.begin() as conn:
        store_subscribers.set_choice(conn, subscriber_id, sections=sections, frequency=frequency)


def my_data(who: Subscriber) -> dict[str, Any]:
    return {
        "email": who.email, "name": who.name, "status": who.status,
        "frequency": who.frequency, "sections": list(who.sections),
        "created_at": who.created_at.isoformat() if who.created_at else None,
        "confirmed_at": who.confirmed_at.isoformat() if who.confirmed_at else None,
    }  # fmt: skip


def delete(engine: Engine, subscriber_id: int, *, now: datetime) -> None:
    """Remove the subscriber; the address stays only as a suppression, so queued mail drops."""
    with engine.begin() as conn:
        who = store_subscribers.subscriber_by_id(conn, subscriber_id)
        if who is None:
            return
        store_subscribers.suppress(conn, email=who.email, reason="deleted", now=now)
        store_subscribers.delete_subscriber(conn, who.id)
