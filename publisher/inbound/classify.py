"""What one inbound message is, from its contents alone (matching it is match.py's job).

In order: a feedback report (complaint); an emailed unsubscribe with ``unsubscribe TOKEN``
in the subject, as our List-Unsubscribe mailto writes it; a bounce flufl.bounce understands
(hard or soft); a sure auto-reply; the token in the body; a likely auto-reply; else
unmatched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from email.message import Message

from publisher.core.storable import stripped, unstorable
from publisher.core.vocab import InboundOutcome
from publisher.inbound import autoreply, bounces, reports
from publisher.inbound.message import addresses, first_text, message_id, text

# Our tokens are itsdangerous's URL-safe alphabet with dots.
_UNSUBSCRIBE = re.compile(r"\bunsubscribe[\s:]+([A-Za-z0-9_\-]{1,40}\.[A-Za-z0-9_\-.]{8,300})")
# Where an envelope recipient (our VERP address) shows in a delivered message.
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: InboundOutcome
    reported: tuple[str, ...] = ()  # the addresses the report names (failed, complained)
    envelope: tuple[str, ...] = ()  # addresses that may carry our VERP token
    message_ids: tuple[str, ...] = ()  # the original message's Message-ID
    token: str | None = None  # an unsubscribe token
    detail: str = ""
    # The report is signed by the service that sent our message (a webhook): the addresses
    # it names are trusted. Mail we receive is never vouched for (match.py).
    vouched: bool = False

    def clean(self) -> Verdict:
        """Without what no store can hold (core/storable: a NUL, a lone surrogate): an
        address or Message-ID that holds one is nobody's and is dropped, other text loses
        it. A stranger's mail (or a webhook's JSON ``\\u0000``) failing on it in the store
        stopped the whole mailbox pass with it."""
        texts = (*self.reported, *self.envelope, *self.message_ids, self.token, self.detail)
        if unstorable(*texts) is None:
            return self
        return replace(
            self, reported=_whole(self.reported), envelope=_whole(self.envelope),
            message_ids=_whole(self.message_ids), detail=stripped(self.detail),
            token=stripped(self.token) if self.token else self.token,
        )  # fmt: skip


def _whole(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v for v in values if unstorable(v) is None)


def _envelope(msg: Message, extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*(a.lower() for a in extra), *addresses(msg, *ENVELOPE_HEADERS)]))


# A bounce that quotes the original in its body (Exim, qmail) rather than attaching it.
_QUOTED_ID = re.compile(r"^Message-ID:[ \t]*(<[^<>\s]{3,250}>)", re.I | re.M)


def _original_ids(msg: Message) -> tuple[str, ...]:
    orig = reports.original(msg)
    found = message_id(orig) if orig is not None else None
    if found:
        return (found,)
    quoted = _QUOTED_ID.search(first_text(msg))
    return (quoted.group(1),) if quoted else ()


def _complaint(msg: Message, report: reports.Feedback, envelope: tuple[str, ...]) -> Verdict:
    # Our VERP sender comes back as Original-Mail-From (or the original's Return-Path).
    orig = reports.original(msg)
    verp = report.mail_from + tuple(addresses(orig, "Return-Path") if orig else ())
    return Verdict(
        "complaint", reported=report.rcpt_to or report.original_to,
        envelope=verp + envelope, message_ids=(report.message_id,) if report.message_id else (),
        detail=f"feedback-type {report.feedback_type or 'unknown'}",
    )  # fmt: skip


def _bounce(msg: Message, found: bounces.Failures, envelope: tuple[str, ...]) -> Verdict:
    if found.permanent:
        outcome: InboundOutcome = "hard_bounce"
        reported = found.permanent
    else:
        outcome, reported = "soft_bounce", found.temporary
    subject = text(msg.get("Subject"))[:200]
    return Verdict(outcome, reported=reported, envelope=envelope,
                   message_ids=_original_ids(msg), detail=subject)  # fmt: skip


def classify(msg: Message, *, recipients: tuple[str, ...] = ()) -> Verdict:
    """``recipients``: the envelope recipients when the caller knows them (a pipe transport)."""
    envelope = _envelope(msg, recipients)
    report = reports.feedback(msg)
    if report is not None:
        return _complaint(msg, report, envelope)
    subject = text(msg.get("Subject"))
    # A signed token in the subject is what our mailto writes: a reader's request, never a
    # bounce (and the bounce detectors are the costly part of classifying).
    token = _UNSUBSCRIBE.search(subject)
    if token is not None and not autoreply.strong(msg):
        return Verdict("unsubscribe", envelope=envelope, token=token.group(1))
    found = bounces.failures(msg)
    if found:
        return _bounce(msg, found, envelope)
    if reason := autoreply.strong(msg):
        return Verdict("auto_reply", envelope=envelope, detail=reason)
    token = token or _UNSUBSCRIBE.search(first_text(msg, 8192))
    if token is not None:
        return Verdict("unsubscribe", envelope=envelope, token=token.group(1))
    if reason := autoreply.weak(msg):
        return Verdict("auto_reply", envelope=envelope, detail=reason)
    if reports.report_type(msg) == "delivery-status":
        return Verdict("unmatched", envelope=envelope, message_ids=_original_ids(msg),
                       detail="a delivery report that names no failed recipient")  # fmt: skip
    detail = found.error or (subject[:200] if subject else "no subject")
    return Verdict("unmatched", envelope=envelope, detail=detail)
