"""Reader self-service: subscribe (double opt-in), confirm, unsubscribe, preferences, my data.

Every answer a reader sees is the same whether the address was known or not; the only
difference is whether a confirmation email is enqueued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from publisher import compose, tokens
from publisher.addresses import to_ascii
from publisher.fanout import Identity
from publisher.models import Subscriber
from publisher.outbox import NewMessage, enqueue, store_content
from publisher.render import Renderer
from publisher.store import subscribers as store_subscribers
from publisher.store import webstate
from publisher.store.types import Engine


def address_key(prefix: str, email: str) -> str:
    """A counter key that names an address without storing it."""
    return prefix + hashlib.sha256(email.encode("utf-8")).hexdigest()[:40]


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


class TooMany(Exception):
    """This client asked for too many subscriptions this hour."""


def subscribe(
    engine: Engine, identity: Identity, renderer: Renderer, *, email: str, name: str,
    sections: Sequence[str], frequency: str, language: str, now: datetime, cap_per_day: int,
    client: str = "", per_client_hour: int = 0,
) -> bool:  # fmt: skip
    """Store a pending subscriber and enqueue a confirmation; True when one was enqueued.

    ``client`` (a keyed hash of the IP) and ``per_client_hour`` stop one client from signing
    up many strangers (subscription bombing): TooMany, before anything is written.
    """
    with engine.begin() as conn:
        if per_client_hour:
            hour = now.replace(minute=0, second=0, microsecond=0)
            if webstate.bump(conn, f"subscribe-ip:{client}", hour) > per_client_hour:
                raise TooMany()
        who = store_subscribers.get_by_email(conn, email)
        if who is not None and who.status == "confirmed":
            return False  # nothing to confirm; a stranger must not change their choice
        if who is None:
            store_subscribers.upsert(
                conn, email=email, name=name, sections=sections, frequency=frequency,
                status="pending", now=now, language=language,
            )  # fmt: skip
            who = store_subscribers.get_by_email(conn, email)
            assert who is not None
        else:
            webstate.set_choice(
                conn, who.id, sections=sections, frequency=frequency, name=name,
                language=language,
            )  # fmt: skip
            webstate.set_status(conn, who.id, "pending", now=now)
        sent = webstate.bump(conn, address_key("confirm:", email), day_start(now))
        if sent > cap_per_day:
            return False
        _enqueue_confirm(conn, identity, renderer, who, name=name, count=sent, now=now)
        return True


def _enqueue_confirm(
    conn: Any, identity: Identity, renderer: Renderer, who: Subscriber, *, name: str,
    count: int, now: datetime,
) -> None:  # fmt: skip
    token = tokens.make(identity.secret, "confirm", (who.id,), now=now)
    rendered = renderer.confirm(confirm_url=f"{identity.base_url}/confirm/{token}")
    body = compose.compose(rendered=rendered, sender=identity.sender, date=now)
    key = f"confirm:{who.id}:{now:%Y%m%d}:{count}"
    cid = store_content(conn, key=key, kind="confirm", body=body, now=now)
    msg = NewMessage(
        dedupe_key=key, kind="confirm", recipient=to_ascii(who.email), content_id=cid,
        substitutions={compose.TO: compose.address(name, who.email)},
        expires_in=identity.expiries["confirm"],
    )  # fmt: skip
    enqueue(conn, [msg], now=now, domain=identity.message_id_domain)


def subscriber_for(engine: Engine, secret: str, purpose: tokens.Purpose, token: str, *,
                   now: datetime) -> Subscriber | None:  # fmt: skip
    """The subscriber a valid token names (None once deleted); TokenError when invalid."""
    ids = tokens.read(secret, purpose, token, now=now)
    with engine.connect() as conn:
        return webstate.subscriber_by_id(conn, ids[0])


def confirm(engine: Engine, secret: str, token: str, *, now: datetime) -> bool:
    """Confirm a pending subscriber; an used or stale token changes nothing."""
    ids = tokens.read(secret, "confirm", token, now=now)
    with engine.begin() as conn:
        who = webstate.subscriber_by_id(conn, ids[0])
        if who is None or who.status != "pending":
            return False
        webstate.set_status(conn, who.id, "confirmed", now=now)
        webstate.unsuppress(conn, who.email, reason="unsubscribed")
        return True


def unsubscribe_id(engine: Engine, subscriber_id: int, *, now: datetime) -> None:
    """Idempotent; the suppression makes the delivery drop digests already queued."""
    with engine.begin() as conn:
        who = webstate.subscriber_by_id(conn, subscriber_id)
        if who is None:
            return
        if who.status != "unsubscribed":
            webstate.set_status(conn, who.id, "unsubscribed", now=now)
        store_subscribers.suppress(conn, email=who.email, reason="unsubscribed", now=now)


def update_choice(
    engine: Engine, subscriber_id: int, *, sections: Sequence[str], frequency: str
) -> None:
    with engine.begin() as conn:
        webstate.set_choice(conn, subscriber_id, sections=sections, frequency=frequency)


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
        who = webstate.subscriber_by_id(conn, subscriber_id)
        if who is None:
            return
        store_subscribers.suppress(conn, email=who.email, reason="deleted", now=now)
        webstate.delete_subscriber(conn, who.id)
