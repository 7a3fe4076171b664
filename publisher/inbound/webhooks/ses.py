"""Amazon SES notifications, delivered by SNS over HTTPS.

SNS signs every message: the certificate is fetched (through a port, ``CertFetcher``) only
from an ``https://sns.<region>.amazonaws.com/…pem`` URL (a region-shaped host: not
``sns.s3.amazonaws.com``, an S3 bucket anyone may name ``sns``), never following a redirect,
and cached; the certificate must be issued to ``sns.amazonaws.com`` (or the URL's own SNS
host); the signature over the canonical string must verify, the topic must be one of
``ses_topic_arns``, and the signed Timestamp must be within ``webhook_tolerance``. A
SubscriptionConfirmation is confirmed (its SubscribeURL fetched, again only from an SNS
host) only after all of that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from publisher.core.errors import PublisherError
from publisher.core.timeparse import parse_rfc3339
from publisher.core.vocab import InboundOutcome
from publisher.inbound.webhooks.events import (
    BadPayload,
    BadSignature,
    Event,
    WebhookRefused,
    bracketed,
    obj,
    parse,
    within,
)
from publisher.inbound.webhooks.signatures import cert_names, verify_rsa_cert

# GET an https URL, return its body (bounded); raises PublisherError when it cannot.
CertFetcher = Callable[[str], bytes]
# sns.<region>.amazonaws.com[.cn]; a region is like us-east-1, us-gov-west-1, cn-north-1,
# eu-isoe-west-1: letters, a dash, a direction word, a dash, a number.
_SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)?-[a-z]+-[0-9]{1,2}\.amazonaws\.com(\.cn)?$")
SNS_CERT_NAME = "sns.amazonaws.com"
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip


class CertUnavailable(WebhookRefused):
    """The signing certificate could not be fetched now: SNS retries on 5xx."""

    status = 503


def aws_url(url: object, *, pem: bool) -> str:
    """An https URL on an SNS host (no user info, default port), or BadSignature."""
    text = str(url or "")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadSignature("not an SNS URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not _SNS_HOST.match(host) or parts.username or port not in (
        None, 443,
    ):  # fmt: skip
        raise BadSignature(f"not an SNS URL: {text[:200]!r}")
    if pem and not parts.path.endswith(".pem"):
        raise BadSignature("SigningCertURL is not a .pem")
    return text


def canonical(doc: dict[str, Any]) -> bytes:
    kind = str(doc.get("Type"))
    if kind not in _FIELDS:
        raise BadPayload(f"unknown SNS message type {kind[:40]!r}")
    out = []
    for name in _FIELDS[kind]:
        value = doc.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise BadPayload(f"SNS field {name} missing")
        out.append(f"{name}\n{value}\n")
    # SNS signs UTF-8: a field holding a lone surrogate (JSON's "\\ud800", from anyone, as
    # this runs before the signature is checked) has none, and surrogatepass gives bytes
    # whose signature does not verify (a 401) instead of a UnicodeEncodeError (a 500).
    return "".join(out).encode("utf-8", "surrogatepass")


def _cert(url: str, fetch: CertFetcher, cache: dict[str, bytes]) -> bytes:
    """SNS rotates its certificates rarely: the caller keeps a few fetched ones."""
    if url not in cache:
        try:
            body = fetch(url)
        except PublisherError as exc:
            raise CertUnavailable(f"cannot fetch the SNS certificate: {exc}") from None
        if len(cache) >= 16:
            cache.clear()
        cache[url] = body
    return cache[url]


def _issued_to_sns(cert: bytes, url: str) -> None:
    """The certificate names SNS (its CN or a DNS SAN), not merely sits on an SNS URL."""
    allowed = {SNS_CERT_NAME, (urlsplit(url).hostname or "").lower()}
    if not allowed & cert_names(cert):
        raise BadSignature(f"the signing certificate is not issued to {SNS_CERT_NAME}")


def verify(doc: Any, *, topics: list[str], fetch: CertFetcher, cache: dict[str, bytes],
           now: datetime, tolerance: timedelta) -> dict[str, Any]:  # fmt: skip
    if not isinstance(doc, dict):
        raise BadPayload("an SNS message is a JSON object")
    data = canonical(doc)
    if doc.get("TopicArn") not in topics:
        raise BadSignature("topic not listed in ses_topic_arns")
    version = doc.get("SignatureVersion")
    if version not in ("1", "2"):
        raise BadSignature("unknown SignatureVersion")
    url = aws_url(doc.get("SigningCertURL"), pem=True)
    cert = _cert(url, fetch, cache)
    _issued_to_sns(cert, url)
    verify_rsa_cert(
        cert, str(doc.get("Signature", "")), data, "sha1" if version == "1" else "sha256"
    )
    try:
        signed_at = parse_rfc3339(str(doc["Timestamp"]), UTC)
    except (PublisherError, ValueError):
        raise BadSignature("Timestamp is not a time") from None
    within(signed_at, now, tolerance)
    return doc


def events(doc: dict[str, Any]) -> list[Event]:
    """The bounces and complaints of an SES notification (other types yield none)."""
    note = parse(str(doc["Message"]).encode("utf-8"))
    if not isinstance(note, dict):
        raise BadPayload("the SES notification is not a JSON object")
    kind = note.get("notificationType") or note.get("eventType")
    mail = obj(note.get("mail"))
    headers = obj(mail.get("commonHeaders"))
    envelope = (str(mail["source"]).lower(),) if isinstance(mail.get("source"), str) else ()
    common = {"envelope": envelope, "message_id": bracketed(headers.get("messageId"))}
    found: list[Event] = []
    if kind == "Bounce" and isinstance(note.get("bounce"), dict):
        bounce = note["bounce"]
        outcome: InboundOutcome = (
            "hard_bounce" if bounce.get("bounceType") == "Permanent" else "soft_bounce"
        )
        for r in bounce.get("bouncedRecipients") or []:
            if isinstance(r, dict) and isinstance(r.get("emailAddress"), str):
                detail = f"SES {bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
                found.append(Event(str(doc["MessageId"]), outcome, r["emailAddress"],
                                   detail=detail, **common))  # type: ignore[arg-type]  # fmt: skip
    elif kind == "Complaint" and isinstance(note.get("complaint"), dict):
        complaint = note["complaint"]
        if complaint.get("complaintFeedbackType") == "not-spam":
            return []
        for r in complaint.get("complainedRecipients") or []:
            if isinstance(r, dict) and isinstance(r.get("emailAddress"), str):
                found.append(Event(str(doc["MessageId"]), "complaint", r["emailAddress"],
                                   detail="SES complaint", **common))  # type: ignore[arg-type]  # fmt: skip
    return found
