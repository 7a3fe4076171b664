"""The parts of a report that name our message: ARF feedback reports (RFC 5965) and the
original message (or its headers) that DSNs and complaints attach."""

from __future__ import annotations

import email.parser
from dataclasses import dataclass
from email.message import Message

from publisher.inbound.message import addresses, message_id

_HEADERS = email.parser.HeaderParser()


def report_type(msg: Message) -> str:
    if msg.get_content_type() != "multipart/report":
        return ""
    return str(msg.get_param("report-type") or "").lower()


def _as_headers(part: Message) -> Message | None:
    """A part that holds a message or a block of headers, as a Message of those headers."""
    payload = part.get_payload()
    if isinstance(payload, list):
        first = payload[0] if payload else None
        return first if isinstance(first, Message) else None
    if isinstance(payload, str):
        return _HEADERS.parsestr(payload[: 256 * 1024])
    return None


def original(msg: Message) -> Message | None:
    """The attached original (message/rfc822) or its headers (text/rfc822-headers)."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            return _as_headers(part)
    return None


@dataclass(frozen=True, slots=True)
class Feedback:
    """What an ARF report says about the message complained of."""

    feedback_type: str
    mail_from: tuple[str, ...]  # Original-Mail-From: our (VERP) envelope sender
    rcpt_to: tuple[str, ...]  # Original-Rcpt-To: who complained (often redacted)
    original_to: tuple[str, ...]  # the To of the attached original
    message_id: str | None


def feedback(msg: Message) -> Feedback | None:
    """The feedback report of an ARF message, None when it is not one."""
    if report_type(msg) != "feedback-report":
        return None
    fields: Message | None = None
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            fields = _as_headers(part)
            break
    orig = original(msg)
    return Feedback(
        feedback_type=str(fields.get("Feedback-Type", "") if fields else "").strip().lower(),
        mail_from=tuple(addresses(fields, "Original-Mail-From")) if fields else (),
        rcpt_to=tuple(addresses(fields, "Original-Rcpt-To")) if fields else (),
        original_to=tuple(addresses(orig, "To")) if orig else (),
        message_id=message_id(orig) if orig else None,
    )
