"""The closed vocabularies that cross stages and sit in the database, named once.

Each is a ``Literal`` so mypy checks every value a caller writes; code that needs the list
at run time (CLI choices, counters) takes it from ``typing.get_args`` of the alias.
"""

from __future__ import annotations

from typing import Literal, TypeVar

_Word = TypeVar("_Word", bound=str)

# An outbox row's life: queued → sending → sent | deferred (→ sending …) | failed |
# suppressed | expired. Kept in this order: it is the order status tables show.
OutboxStatus = Literal["queued", "sending", "sent", "deferred", "failed", "suppressed", "expired"]
# What produced an outbox row (it decides its expiry and how it is counted).
OutboxKind = Literal["digest", "confirm", "share", "test"]

# What a digest run row records (store/digest_runs.py).
RunStatus = Literal["running", "enqueued", "stale", "too_few"]
# What a digest run call answers: a stored status, or why nothing was stored.
RunOutcome = RunStatus | Literal["already", "nothing-due"]

SubscriberStatus = Literal["pending", "confirmed", "unsubscribed"]
SubscriberFrequency = Literal["daily", "weekly"]

# Why an address is on the suppression list, for the entries the code writes (an operator may
# add others by hand with their own wording: store/suppressions.add takes any text).
SuppressionReason = Literal["unsubscribed", "deleted", "hard_bounce", "share_block"]
# What a suppression stops: every message (all) or shared articles only (share).
SuppressionScope = Literal["all", "share"]

# The SMTP command a reply answers (delivery/smtpwire.classify reads a reply by it).
SmtpStage = Literal["mail", "rcpt", "data"]

# --- click analytics (issue 16) ---
# A click on a tracked link: a reader's, or a machine's (scanner, prefetch, HEAD, burst).
ClickKind = Literal["human", "machine"]
# Why a click was taken for a machine's (the report counts each reason).
MachineReason = Literal["head", "prefetch", "scanner-agent", "scanner-network", "burst"]


def pick(value: str | None, words: tuple[_Word, ...]) -> _Word | None:
    """``value`` as a member of the vocabulary ``words``; None when it is not one (or None)."""
    return next((w for w in words if w == value), None)
