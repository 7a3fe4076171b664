"""Reader self-service: subscribe (double opt-in), confirm, unsubscribe, preferences, my data.

Every answer a reader sees is the same whether the address was known or not; the only
difference is whether a confirmation email is enqueued. That work runs after the answer (see
web/pages.py) and costs the same for every address: the message is rendered and inlined once
per language (``ConfirmMail``), stored once a day, and a request is a few small writes: the
address's counter is bumped even when nothing is sent.

A confirmation token names one pending request: the subscriber id and a random nonce stored
with the row. A new request replaces the nonce, confirming or any status change clears it, so
a token confirms exactly the request it was mailed for, once. The choice a request asks for
(name, sections, frequency, language) is held with it and applied only on confirmation: a
stranger who signs up someone else's address changes nothing of theirs, not even the name the
confirmation is addressed to.

Every link names a subscriber id, and SQLite gives a deleted subscriber's id to the next
sign-up: a link counts only for the row that existed when it was issued (``_holder``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, get_args

from publisher.consent.record import Act, consented, record
from publisher.core import tokens
from publisher.core.addresses import canonical, to_ascii
from publisher.core.errors import PublisherError
from publisher.core.models import Subscriber
from publisher.core.vocab import ConsentEvent, SubscriberFrequency, pick
from publisher.messages import mime
from publisher.messages.enqueue import READER_OWN, NewMessage, enqueue, store_content
from publisher.messages.fanout import Identity
from publisher.readers.formcheck import InputError
from publisher.render.templates import Renderer
from publisher.store import alerts as store_alerts
from publisher.store import events as store_events
from publisher.store import outbox as store_outbox
from publisher.store import pending as store_pending
from publisher.store import ratecounters
from publisher.store import subscribers as store_subscribers
from publisher.store import suppressions as store_suppressions
from publisher.store.types import Connection, Engine

# Per-row placeholders in the one stored confirmation (filled by outbox.fill).
CONFIRM_TOKEN = "%%CONFIRM_TOKEN%%"
DATE = "%%DATE%%"
_COMPOSED_AT = datetime(2000, 1, 1, tzinfo=UTC)  # replaced by DATE: the row says when
_DATE_LINE = re.compile(rb"^Date: [^\r\n]*", re.M)


def address_key(prefix: str, email: str) -> str:
    """A counter key that names an address (its canonical form) without storing it."""
    return prefix + hashlib.sha256(canonical(email).encode("utf-8")).hexdigest()[:40]


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


class TooMany(PublisherError):
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


@dataclass(frozen=True, slots=True)
class ConfirmMail:
    """The confirmation message of one language, rendered and inlined once per process.

    Jinja2 and premailer cost tens of milliseconds: done per request on the store writer,
    they showed which addresses get a mail (the next sign-up waited for them). Each request's
    row carries only its To, Date and token (``CONFIRM_TOKEN``, as an import's mails do).
    """

    language: str
    body: bytes
    digest: str

    @classmethod
    def render(cls, identity: Identity, renderer: Renderer, language: str) -> ConfirmMail:
        rendered = renderer.confirm(confirm_url=f"{identity.base_url}/confirm/{CONFIRM_TOKEN}")
        raw = mime.compose(rendered=rendered, sender=identity.sender, date=_COMPOSED_AT)
        head, sep, rest = raw.partition(b"\r\n\r\n")
        head, found = _DATE_LINE.subn(b"Date: " + DATE.encode("ascii"), head, count=1)
        if found != 1:
            raise mime.ComposeError("the confirmation has no Date header to fill in")
        body = head + sep + rest
        return cls(language, body, hashlib.sha256(body).hexdigest()[:16])

    def content_id(self, conn: Connection, now: datetime) -> int:
        """Stored once a day (the cleanup drops old unused copies; a changed template is a
        new digest, so a new copy): a lookup for every other request."""
        key = f"confirm-form:{self.language}:{now:%Y%m%d}:{self.digest}"
        found = store_outbox.content_id(conn, key)
        if found is not None:
            return found
        return store_content(conn, key=key, kind="confirm", body=self.body, now=now)


_FREQUENCIES: tuple[SubscriberFrequency, ...] = get_args(SubscriberFrequency)


def _frequency(value: str) -> SubscriberFrequency:
    """A form's frequency as the vocabulary's word; InputError on ``frequency`` when it is none."""
    found = pick(value, _FREQUENCIES)
    if found is None:
        raise InputError("frequency", "frequency", f"not a frequency: {value!r}")
    return found


def subscribe(
    engine: Engine, identity: Identity, mail: ConfirmMail, *, email: str, name: str,
    sections: Sequence[str], frequency: str, language: str, now: datetime, cap_per_day: int,
    act: Act | None = None, alerts: bool = False,
) -> bool:  # fmt: skip
    """Record a pending request and enqueue its confirmation; True when one was enqueued.

    Nothing for a confirmed address (a stranger must not change their choice) and nothing
    past ``cap_per_day`` confirmations to one mailbox (counted on the canonical address).
    The stored message is looked up and the counter bumped for every address, so a confirmed
    or capped one costs about what a new one does.
    """
    with engine.begin() as conn:
        cid = mail.content_id(conn, now)
        who = store_subscribers.get_by_email(conn, email)
        sent = ratecounters.bump(conn, address_key("confirm:", email), day_start(now))
        if (who is not None and who.status == "confirmed") or sent > cap_per_day:
            return False
        nonce = secrets.randbelow(2**31 - 1) + 1  # fits a 32-bit INTEGER on both backends
        if who is None:
            store_subscribers.upsert(
                conn, email=email, name=name, sections=sections, frequency=_frequency(frequency),
                status="pending", now=now, language=language,
            )  # fmt: skip
            who = store_subscribers.get_by_email(conn, email)
            assert who is not None
            store_alerts.set_alerts(conn, who.id, alerts)
            store_subscribers.set_pending(conn, who.id, nonce=nonce, choice=None)
        else:
            choice = {"name": name, "sections": sorted(set(sections)), "frequency": frequency,
                      "language": language, "alerts": alerts}  # fmt: skip
            store_subscribers.set_pending(conn, who.id, nonce=nonce, choice=choice)
        choice_of = {"sections": sorted(set(sections)), "frequency": frequency}
        _log(conn, act or Act("form", identity.secret), who, "subscribed", now, choice_of)
        _enqueue_confirm(conn, identity, who, cid, nonce=nonce, now=now)
        return True


def _enqueue_confirm(
    conn: Connection, identity: Identity, who: Subscriber, content_id: int, *, nonce: int,
    now: datetime,
) -> None:  # fmt: skip
    token = tokens.make(identity.secret, "confirm", (who.id, nonce), now=now)
    # The request's nonce makes the key unique: an id a deleted reader had used today must
    # not make the new reader's mail a duplicate that is silently dropped.
    key = f"confirm:{who.id}:{nonce}"
    msg = NewMessage(
        dedupe_key=key, kind="confirm", recipient=to_ascii(who.email), content_id=content_id,
        # The stored name: the one a request asks for is held until the mailbox confirms.
        substitutions={mime.TO: mime.address(who.name, who.email), CONFIRM_TOKEN: token,
                       DATE: format_datetime(now)},
        expires_in=identity.expiries["confirm"],
    )  # fmt: skip
    enqueue(conn, [msg], now=now, domain=identity.message_id_domain)
    # Asked: an imported pending row is forgotten once its ask goes unanswered (store/pending).
    store_pending.mark_asked(conn, who.id, now=now)


class Gone(tokens.TokenError):
    """A valid link whose reader is gone: deleted, purged, or the id names a later sign-up."""


def _holder(
    conn: Connection, secret: str, purpose: tokens.Purpose, token: str, now: datetime
) -> tuple[Subscriber, tuple[int, ...]]:
    ids, issued = tokens.read_issued(secret, purpose, token, now=now)
    who = store_subscribers.subscriber_by_id(conn, ids[0], issued=issued)
    if who is None:
        raise Gone(f"the {purpose} link names no current subscriber")
    return who, ids


def subscriber_for(engine: Engine, secret: str, purpose: tokens.Purpose, token: str, *,
                   now: datetime) -> Subscriber | None:  # fmt: skip
    """The subscriber a valid token names (None once gone); TokenError when invalid."""
    with engine.connect() as conn:
        try:
            return _holder(conn, secret, purpose, token, now)[0]
        except Gone:
            return None


def _token_matches(
    who: Subscriber, held: store_subscribers.Pending | None, ids: tuple[int, ...]
) -> bool:
    if len(ids) == 2:
        return held is not None and held.nonce == ids[1]
    # A token mailed before requests had nonces (migration 0008): only for a first sign-up
    # still pending, never for an address that was confirmed before (the replay of 11.13).
    return held is None and who.status == "pending" and who.confirmed_at is None


def _log(
    conn: Connection, act: Act, who: Subscriber, event: ConsentEvent, now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """The consent log's row for this change, in its transaction."""
    record(conn, act, email=who.email, subscriber_id=who.id, event=event, now=now,
           advertising=event in ("confirmed", "reconfirmed"), detail=detail)  # fmt: skip


def confirm(
    engine: Engine, secret: str, token: str, *, now: datetime, act: Act | None = None
) -> bool:
    """Confirm the pending request the token was issued for; any other token changes nothing.

    TokenError (``Gone``) when the link's reader no longer exists."""
    with engine.begin() as conn:
        who, ids = _holder(conn, secret, "confirm", token, now)
        held = store_subscribers.pending(conn, who.id)
        if not _token_matches(who, held, ids):
            return False
        if held is not None and held.choice is not None:
            c = held.choice
            store_subscribers.set_choice(
                conn, who.id, sections=list(c.get("sections") or []),
                frequency=_frequency(str(c.get("frequency") or who.frequency)),
                name=str(c.get("name") or who.name), language=c.get("language"),
            )  # fmt: skip
            if "alerts" in c:  # requests from before alerts existed leave the choice alone
                store_alerts.set_alerts(conn, who.id, bool(c["alerts"]))
        store_subscribers.set_status(conn, who.id, "confirmed", now=now)  # clears the request
        _log(conn, act or Act("mail", secret), who, "confirmed", now)
        consented(conn, who.id, at=now)
        if who.status != "confirmed":
            store_events.record_event(
                conn, "subscriber.confirmed", str(who.id),
                {"subscriber_id": who.id, "email": who.email}, now=now,
            )  # fmt: skip
        # The mailbox said yes again: its own "unsubscribed" or "deleted" entry goes.
        store_suppressions.unsuppress(conn, who.email, reasons=READER_OWN)
        return True


def _unsubscribe(conn: Connection, who: Subscriber, now: datetime, act: Act) -> None:
    if who.status != "unsubscribed":
        store_subscribers.set_status(conn, who.id, "unsubscribed", now=now)
        _log(conn, act, who, "unsubscribed", now)
        store_events.record_event(
            conn, "subscriber.unsubscribed", str(who.id),
            {"subscriber_id": who.id, "email": who.email}, now=now,
        )  # fmt: skip
    store_subscribers.suppress(conn, email=who.email, reason="unsubscribed", now=now)


def unsubscribe(
    engine: Engine,
    secret: str,
    purpose: tokens.Purpose,
    token: str,
    *,
    now: datetime,
    act: Act | None = None,
) -> None:
    """The reader's link (``unsubscribe`` or ``preferences``); idempotent. Gone when the link's
    reader no longer exists. The suppression makes the delivery drop digests already queued."""
    with engine.begin() as conn:
        _unsubscribe(conn, _holder(conn, secret, purpose, token, now)[0], now,
                     act or Act("mail", secret))  # fmt: skip


def unsubscribe_id(engine: Engine, subscriber_id: int, *, now: datetime, act: Act) -> None:
    """By id, for the operator's tools; idempotent."""
    with engine.begin() as conn:
        who = store_subscribers.subscriber_by_id(conn, subscriber_id, issued=None)
        if who is not None:
            _unsubscribe(conn, who, now, act)


def change_choice(
    engine: Engine, secret: str, token: str, *, sections: Sequence[str], frequency: str,
    now: datetime, act: Act | None = None, alerts: bool | None = None,
) -> None:  # fmt: skip
    """The preferences link's "save"; Gone when the link's reader no longer exists.
    ``alerts``: the breaking-news choice (None leaves it as it is)."""
    with engine.begin() as conn:
        who = _holder(conn, secret, "preferences", token, now)[0]
        store_subscribers.set_choice(
            conn, who.id, sections=sections, frequency=_frequency(frequency)
        )
        if not _same_choice(who, sections, frequency, alerts):
            detail = {"sections": sorted(set(sections)), "frequency": frequency}
            _log(conn, act or Act("form", secret), who, "changed", now, detail)
        if alerts is not None:
            store_alerts.set_alerts(conn, who.id, alerts)


def update_choice(
    engine: Engine, subscriber_id: int, *, sections: Sequence[str], frequency: str,
    now: datetime, act: Act, alerts: bool | None = None,
) -> None:  # fmt: skip
    with engine.begin() as conn:
        before = store_subscribers.subscriber_by_id(conn, subscriber_id, issued=None)
        store_subscribers.set_choice(
            conn, subscriber_id, sections=sections, frequency=_frequency(frequency)
        )
        if alerts is not None:
            store_alerts.set_alerts(conn, subscriber_id, alerts)
        who = store_subscribers.subscriber_by_id(conn, subscriber_id, issued=None)
        if who is not None and not (before and _same_choice(before, sections, frequency, alerts)):
            detail: dict[str, Any] = {"sections": sorted(set(sections)), "frequency": frequency}
            if alerts is not None:  # the alert opt-in is a consent of its own: logged with it
                detail["alerts"] = alerts
            _log(conn, act, who, "changed", now, detail)


def _same_choice(
    who: Subscriber, sections: Sequence[str], frequency: str, alerts: bool | None
) -> bool:
    """Whether a save leaves the reader's choice as it was: then it is no consent event, and
    the log (which a legal team reads) gets no row."""
    return (
        sorted(set(who.sections)) == sorted(set(sections))
        and who.frequency == _frequency(frequency)
        and (alerts is None or who.alerts == alerts)
    )


def set_alerts(engine: Engine, subscriber_id: int, *, on: bool) -> None:
    """The breaking-news alert choice alone (an operator's tool, the console)."""
    with engine.begin() as conn:
        store_alerts.set_alerts(conn, subscriber_id, on)


def my_data(who: Subscriber, consent: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What we hold about the reader, with the consent log's rows about them (oldest first)."""
    return {
        "email": who.email, "name": who.name, "status": who.status,
        "frequency": who.frequency, "sections": list(who.sections), "alerts": who.alerts,
        "created_at": who.created_at.isoformat() if who.created_at else None,
        "confirmed_at": who.confirmed_at.isoformat() if who.confirmed_at else None,
        "consent": consent or [],
    }  # fmt: skip


def _delete(conn: Connection, who: Subscriber, now: datetime, act: Act) -> None:
    """What stays is what the law requires: the consent log (by a keyed hash of the address,
    never the address) and the suppression that keeps the address from being mailed again."""
    _log(conn, act, who, "deleted", now)
    store_subscribers.suppress(conn, email=who.email, reason="deleted", now=now)
    store_subscribers.delete_subscriber(conn, who.id)


def delete_mine(
    engine: Engine, secret: str, token: str, *, now: datetime, act: Act | None = None
) -> None:
    """ "Delete my data" from the preferences link; Gone when the reader no longer exists."""
    with engine.begin() as conn:
        _delete(conn, _holder(conn, secret, "preferences", token, now)[0], now,
                act or Act("form", secret))  # fmt: skip


def delete(engine: Engine, subscriber_id: int, *, now: datetime, act: Act) -> None:
    """Remove the subscriber; the address stays only as a suppression, so queued mail drops.

    Signing up again is double opt-in as for anyone: the confirmation passes the "deleted"
    entry, and confirming lifts it (see ``outbox.blocks``)."""
    with engine.begin() as conn:
        who = store_subscribers.subscriber_by_id(conn, subscriber_id, issued=None)
        if who is not None:
            _delete(conn, who, now, act)


def unsubscribe_in(conn: Connection, secret: str, token: str, *, now: datetime) -> Subscriber:
    """An unsubscribe emailed to ``unsubscribe_mailto`` (inbound/effects.py): the one-click
    link's check and effect, in the caller's transaction. TokenError (or Gone) as there."""
    who = _holder(conn, secret, "unsubscribe", token, now)[0]
    _unsubscribe(conn, who, now, Act("mail", secret))
    return who
