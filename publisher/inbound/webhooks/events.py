"""What the services' webhooks have in common: their refusals, the events they yield, and
applying those events (effects.py) in one transaction, each recorded once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from publisher.core.errors import PublisherError
from publisher.core.vocab import InboundOutcome, InboundSourceKind
from publisher.inbound import effects
from publisher.inbound.classify import Verdict
from publisher.inbound.effects import Applied, Rules
from publisher.inbound.process import OnOutcome
from publisher.store import inboundtokens
from publisher.store.types import Engine


class WebhookRefused(PublisherError):
    """A webhook request that changes nothing; ``status`` is the HTTP answer (4xx)."""

    status = 400


class BadSignature(WebhookRefused):
    """Missing or wrong signature or credentials, or a signed time outside the window."""

    status = 401


class NotConfigured(WebhookRefused):
    """The service's key or topic is not set: the endpoint is off."""

    status = 404


class BadPayload(WebhookRefused):
    """Not JSON, or JSON of the wrong shape."""

    status = 400


@dataclass(frozen=True, slots=True)
class Event:
    """One recipient's bounce or complaint, as a service reports it."""

    event_id: str  # the service's own id: the idempotency key
    outcome: InboundOutcome
    address: str
    envelope: tuple[str, ...] = ()  # our VERP sender when the service reports it
    message_id: str | None = None  # our Message-ID when the service reports it
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Once:
    """A signed token that must not be used twice: the signature covers only the token and
    its time (Mailgun), so a replay could carry other event data."""

    provider: str
    token: str
    signed_at: datetime
    tolerance: timedelta


def parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadPayload("body is not JSON") from None


def obj(value: object) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (a payload's optional parts)."""
    return value if isinstance(value, dict) else {}


def within(when: datetime, now: datetime, tolerance: timedelta) -> None:
    """Refuse a signed time outside ``now ± tolerance``: a replay, or a clock far off."""
    if abs(now - when) > tolerance:
        raise BadSignature(f"signed time {when.isoformat()} is outside the accepted window")


def epoch(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise BadSignature("signed timestamp is not a number") from None


def bracketed(message_id: object) -> str | None:
    text = str(message_id or "").strip()
    if not text or len(text) > 250:
        return None
    return text if text.startswith("<") else f"<{text}>"


def record_key(source: str, event: Event) -> str:
    """The event's idempotency key: a hash of the service's event id and the address. Both are
    the service's JSON text, where a lone surrogate ("\\ud800") can be: surrogatepass hashes it
    rather than raising (a 500 for the whole request, every retry); any other text gives the
    same bytes as plain UTF-8, so keys already stored still match. Verdict.clean then drops
    such an address, as it does one holding a NUL."""
    text = f"{source}\0{event.event_id}\0{event.address}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def apply_events(
    engine: Engine, rules: Rules, events: Sequence[Event], *, source: InboundSourceKind,
    now: datetime,
    on_outcome: OnOutcome | None = None,
    once: Once | None = None,
) -> list[Applied]:  # fmt: skip
    """All of a request's events in one transaction: a failure applies none of them.

    ``once``: the request's signed token, recorded in the same transaction; a token used
    before is BadSignature and applies nothing."""
    items = [
        (Verdict(e.outcome, reported=(e.address.lower(),), envelope=e.envelope,
                 message_ids=(e.message_id,) if e.message_id else (), detail=e.detail,
                 vouched=True),
         record_key(source, e))
        for e in events
    ]  # fmt: skip
    with engine.begin() as conn:
        if once is not None and not inboundtokens.use_once(
            conn, once.provider, once.token, signed_at=once.signed_at,
            expired_before=now - once.tolerance,
        ):  # fmt: skip
            raise BadSignature("this signature was used before (a replay)")
        done = effects.apply_many(conn, rules, items, source=source, now=now)
    if on_outcome is not None:
        for applied in done:
            on_outcome(source, "duplicate" if applied.duplicate else applied.outcome)
    return done
