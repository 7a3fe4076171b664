"""SendGrid, Postmark and Mailgun: their signature checks and their events.

- SendGrid's signed event webhook: ECDSA (P-256, SHA-256) over timestamp + body, the key
  from ``sendgrid_public_key``; the signed timestamp within ``webhook_tolerance``.
- Postmark: HTTP basic auth with ``postmark_webhook_secret`` (user:password); the event's
  own time (BouncedAt) within the window.
- Mailgun: HMAC-SHA256 of timestamp + token with ``mailgun_signing_key``; the timestamp
  within the window; the token used once (the signature does not cover the event data, so
  a replayed signature could carry another recipient: events.Once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from publisher.core.errors import PublisherError
from publisher.core.storable import unstorable
from publisher.core.timeparse import parse_rfc3339
from publisher.core.tokens import same_text
from publisher.core.vocab import InboundOutcome
from publisher.inbound.webhooks.events import (
    BadPayload,
    BadSignature,
    Event,
    NotConfigured,
    Once,
    bracketed,
    epoch,
    obj,
    parse,
    within,
)
from publisher.inbound.webhooks.signatures import verify_ecdsa

SENDGRID_SIGNATURE = "x-twilio-email-event-webhook-signature"
SENDGRID_TIMESTAMP = "x-twilio-email-event-webhook-timestamp"


def sendgrid(raw: bytes, headers: Mapping[str, str], *, key: str, now: datetime,
             tolerance: timedelta) -> list[Event]:  # fmt: skip
    if not key:
        raise NotConfigured("sendgrid_public_key is not set")
    signature, stamp = headers.get(SENDGRID_SIGNATURE), headers.get(SENDGRID_TIMESTAMP)
    if not signature or not stamp:
        raise BadSignature("signature headers missing")
    verify_ecdsa(key, signature, stamp.encode("utf-8") + raw)
    within(epoch(stamp), now, tolerance)
    body = parse(raw)
    if not isinstance(body, list):
        raise BadPayload("a SendGrid event batch is a JSON array")
    found: list[Event] = []
    for e in body:
        if not isinstance(e, dict) or not isinstance(e.get("email"), str):
            continue
        outcome: InboundOutcome | None = None
        if e.get("event") == "bounce":
            outcome = "soft_bounce" if e.get("type") == "blocked" else "hard_bounce"
        elif e.get("event") == "spamreport":
            outcome = "complaint"
        if outcome is not None:
            event_id = str(e.get("sg_event_id") or _digest(e))
            detail = f"SendGrid {e.get('event')} {e.get('status', '')}".strip()
            found.append(Event(event_id, outcome, e["email"], detail=detail))
    return found


_POSTMARK: dict[str, InboundOutcome] = {
    "HardBounce": "hard_bounce", "BadEmailAddress": "hard_bounce",
    "ManuallyDeactivated": "hard_bounce",
    "SoftBounce": "soft_bounce", "Transient": "soft_bounce", "DnsError": "soft_bounce",
    "SpamComplaint": "complaint", "AutoResponder": "auto_reply",
}  # fmt: skip


def postmark(raw: bytes, authorization: str | None, *, secret: str, now: datetime,
             tolerance: timedelta) -> list[Event]:  # fmt: skip
    if not secret:
        raise NotConfigured("postmark_webhook_secret is not set")
    given = b""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            given = base64.b64decode(authorization[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            given = b""
    if not hmac.compare_digest(given, secret.encode("utf-8")):
        raise BadSignature("wrong or missing credentials")
    e = parse(raw)
    if not isinstance(e, dict):
        raise BadPayload("a Postmark webhook is a JSON object")
    record = str(e.get("RecordType", ""))
    kind = "SpamComplaint" if record == "SpamComplaint" else str(e.get("Type", ""))
    outcome = _POSTMARK.get(kind)
    if record not in ("Bounce", "SpamComplaint") or outcome is None:
        return []
    try:
        when = parse_rfc3339(str(e.get("BouncedAt", "")), UTC)
    except PublisherError:
        raise BadPayload("BouncedAt is not a time") from None
    within(when, now, tolerance)
    if not isinstance(e.get("Email"), str):
        raise BadPayload("Email missing")
    return [Event(str(e.get("ID") or _digest(e)), outcome, e["Email"],
                  detail=f"Postmark {kind}")]  # fmt: skip


def mailgun(
    raw: bytes, *, key: str, now: datetime, tolerance: timedelta
) -> tuple[list[Event], Once]:
    """The events, and the token the caller records as used with them (apply_events)."""
    if not key:
        raise NotConfigured("mailgun_signing_key is not set")
    body = parse(raw)
    sig = body.get("signature") if isinstance(body, dict) else None
    if not isinstance(sig, dict):
        raise BadSignature("signature missing")
    stamp, token, given = (str(sig.get(k, "")) for k in ("timestamp", "token", "signature"))
    # The body's strings are any JSON text, a lone surrogate included: neither may raise.
    signed = (stamp + token).encode("utf-8", "surrogatepass")
    wanted = hmac.new(key.encode("utf-8"), signed, hashlib.sha256)
    if not token or len(token) > 200 or not same_text(wanted.hexdigest(), given.lower()):
        raise BadSignature("signature does not verify")
    signed_at = epoch(stamp)
    within(signed_at, now, tolerance)
    # Checked once signed (a stranger's token stays a 401): the token is kept to refuse a
    # replay, and no store can keep a NUL (PostgreSQL) or a lone surrogate (either).
    if (why := unstorable(token)) is not None:
        raise BadPayload(f"the signature's token {why}")
    once = Once("mailgun", token, signed_at, tolerance)
    data = body.get("event-data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("recipient"), str):
        raise BadPayload("event-data missing")
    event = data.get("event")
    outcome: InboundOutcome | None = None
    if event == "failed":
        outcome = "hard_bounce" if data.get("severity") == "permanent" else "soft_bounce"
    elif event == "complained":
        outcome = "complaint"
    if outcome is None:
        return [], once
    headers = obj(obj(data.get("message")).get("headers"))
    return [Event(str(data.get("id") or token), outcome, data["recipient"],
                  message_id=bracketed(headers.get("message-id")),
                  detail=f"Mailgun {event} {data.get('severity', '')}".strip())], once  # fmt: skip


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(sorted(value.items())).encode()).hexdigest()[:32]
