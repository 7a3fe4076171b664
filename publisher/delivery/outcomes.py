"""SMTP replies become outcomes: what the drain needs to know about one message.

By the stage (MAIL, RCPT or DATA), the enhanced status code and, where the code is ambiguous,
the reply's words: a refusal of our return path must never fail or suppress a recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from publisher.core.vocab import SmtpStage


@dataclass(frozen=True, slots=True)
class Sent:
    reply: str


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Temporary: try again later. ``policy`` marks reputation/policy refusals (x.7.x);
    ``sender`` marks a refusal of our envelope sender (the return path), which says nothing
    about the recipient: the run pauses, nobody is failed or suppressed."""

    reply: str
    policy: bool = False
    sender: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    """Permanent. ``hard_bounce``: the address does not exist, so suppress it."""

    reply: str
    hard_bounce: bool = False


Outcome = Sent | RetryAt | Failed

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


# x.1.7 (bad sender mailbox syntax) and x.1.8 (bad sender system address) describe the
# sender wherever they come (RFC 3463).
_SENDER_DETAILS = {"7", "8"}

# Words with which a relay says the refusal is about the envelope sender, not the recipient
# (Postfix: "Sender address rejected", Exim: "sender verify failed").
_SENDER_WORDS = re.compile(r"\b(sender|return[- ]path)\b", re.I)
# Postfix's own prefix for a recipient refusal wins over any later mention of a sender.
_RECIPIENT_REJECTED = re.compile(r"\brecipient address rejected\b", re.I)
# Words that name the recipient's mailbox. Checked only after the sender words: Postfix's
# reject_unlisted_sender says "Sender address rejected: User unknown in local recipient table".
_RECIPIENT_WORDS = re.compile(
    r"\b(recipient|no such (user|mailbox|address)|user unknown|unknown user|mailbox"
    r"|does not exist|doesn't exist|not found|invalid address)\b",
    re.I,
)


def names_sender(text: str, *, sender: str = "", recipient: str = "") -> bool:
    """Does the reply text say the refusal is about our envelope sender (the return path)?

    Either in words ("Sender address rejected") or by quoting the sender's address (and not
    the recipient's: a reply quoting both is read as being about the recipient)."""
    if _RECIPIENT_REJECTED.search(text):
        return False
    if _SENDER_WORDS.search(text):
        return True
    low = text.lower()
    return bool(sender) and sender.lower() in low and not (recipient and recipient.lower() in low)


def names_recipient(text: str, *, recipient: str = "") -> bool:
    """Does the reply text clearly point at the recipient's mailbox?"""
    return bool(_RECIPIENT_WORDS.search(text)) or bool(
        recipient and recipient.lower() in text.lower()
    )


def classify(
    code: int, text: str, *, stage: SmtpStage, sender: str = "", recipient: str = ""
) -> Outcome:
    """One SMTP reply → outcome, by the stage (mail, rcpt or data), the enhanced code and,
    where the code is ambiguous, the reply text (``sender``/``recipient``: the envelope).

    A refusal at MAIL FROM, an x.1.7/x.1.8 anywhere, or an x.1.x (or a bare 5xx to RCPT)
    whose text names our sender (Postfix rejects the sender at RCPT TO by default, with "550 5.1.0
    <sender>: Sender address rejected: …") is about our return path, never about the
    recipient: it must not fail or suppress anyone (one such reply would otherwise wipe a
    whole list), so it is a ``sender`` retry that pauses the run. An x.1.0 ("other address
    status") suppresses only when its text clearly names the recipient; otherwise it is
    retried like a temporary refusal.
    """
    reply = f"{code} {text}".strip()[:500]
    if 200 <= code < 300:
        return Sent(reply)
    m = _ENHANCED.match(text)
    klass, subject, detail = m.groups() if m else ("", "", "")
    if subject == "7" and klass in ("4", "5"):
        return RetryAt(reply, policy=True)
    if subject == "1" and detail in _SENDER_DETAILS and klass in ("4", "5"):
        return RetryAt(reply, sender=True)
    if stage == "mail" and code >= 500 and code != 552:
        return RetryAt(reply, sender=True)
    about_address = subject == "1" or (not m and stage == "rcpt" and code >= 500)
    if about_address and names_sender(text, sender=sender, recipient=recipient):
        return RetryAt(reply, sender=True)
    if code == 552 or 400 <= code < 500:  # 552: mailbox full, often temporary in practice
        return RetryAt(reply)
    if klass == "5" and subject == "1":
        if detail == "0" and not names_recipient(text, recipient=recipient):
            return RetryAt(reply)  # ambiguous: nobody is blamed, the row is tried again later
        return Failed(reply, hard_bounce=True)
    if stage == "rcpt" and code == 550:
        return Failed(reply, hard_bounce=True)
    if code >= 500:
        return Failed(reply)
    return RetryAt(reply)
