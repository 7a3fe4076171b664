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
# The drain's database thread: background yields the CPU to sending (delivery/dbpriority.py).
DbPriority = Literal["background", "normal"]
EventLoop = Literal["uvloop", "asyncio"]
# What produced an outbox row (it decides its expiry and how it is counted). reconfirm: the
# two-yearly ask to keep advertising consent (consent/reconfirm.py); unlike confirm, every
# suppression stops it.
OutboxKind = Literal["digest", "confirm", "share", "test", "alert", "reconfirm"]

# What a digest run row records (store/digest_runs.py).
# awaiting_approval: rendered, nothing enqueued until an editor approves (digests/approval.py);
# held: an editor rejected it; skipped: nobody approved it by its approval deadline.
RunStatus = Literal[
    "running", "enqueued", "stale", "too_few", "awaiting_approval", "held", "skipped"
]
# What a digest run call answers: a stored status, or why nothing was stored.
RunOutcome = RunStatus | Literal["already", "nothing-due", "held"]  # held: digests/holds.py

SubscriberStatus = Literal["pending", "confirmed", "unsubscribed"]
SubscriberFrequency = Literal["daily", "weekly"]

# Why an address is on the suppression list, for the entries the code writes (an operator may
# add others by hand with their own wording: store/suppressions.add takes any text).
SuppressionReason = Literal["unsubscribed", "deleted", "hard_bounce", "share_block"]
# What a suppression stops: every message (all) or shared articles only (share).
SuppressionScope = Literal["all", "share"]

# --- editorial (issue 15): approval of digest runs, breaking-news alerts ---
# A schedule's `approval:` (none: runs enqueue at once; required: they wait for an editor).
ApprovalPolicy = Literal["none", "required"]
# What happens to a run still awaiting approval at its deadline.
DeadlineAction = Literal["skip", "send"]
# An alert row's outcome (store/alerts.py): sent to the outbox, or refused by the daily cap.
AlertStatus = Literal["sent", "over_cap"]

# The SMTP command a reply answers (delivery/smtpwire.classify reads a reply by it).
SmtpStage = Literal["mail", "rcpt", "data"]

# --- syndication (issue 17) ---
# What the event log records and webhook endpoints subscribe to (bounce and complaint come
# from the inbound mail).
EventType = Literal[
    "article.published", "article.updated", "article.retracted", "digest.run.sent",
    "subscriber.confirmed", "subscriber.unsubscribed", "bounce", "complaint",
]  # fmt: skip
# A webhook delivery's life: pending (→ retried with backoff) → delivered.
DeliveryStatus = Literal["pending", "delivered"]


# --- consent (issue 18) ---
# What a consent log row records (store/consent.py): the log is append-only.
ConsentEvent = Literal[
    "subscribed",
    "confirmed",
    "changed",
    "unsubscribed",
    "imported",
    "reconfirm_asked",
    "reconfirmed",
    "advertising_lapsed",
    "deleted",
]
# Where the act came from: the web form, the API, a file import, the console, a mail
# (an unsubscribe by mail or a link in one), the command line, or a job of the daemon.
ConsentChannel = Literal["form", "api", "import", "console", "mail", "cli", "system"]
# The tools `subscribers import --from` reads (readers/importformats/).
ImportSource = Literal["mailchimp", "listmonk", "ghost", "substack", "csv"]


# --- click analytics (issue 16) ---
# A click on a tracked link: a reader's, or a machine's (scanner, prefetch, HEAD, burst).
ClickKind = Literal["human", "machine"]
# Why a click was taken for a machine's (the report counts each reason); "ip-cap": over
# clicks_per_ip_article_hour from one address.
MachineReason = Literal["head", "prefetch", "scanner-agent", "scanner-network", "burst", "ip-cap"]


def pick(value: str | None, words: tuple[_Word, ...]) -> _Word | None:
    """``value`` as a member of the vocabulary ``words``; None when it is not one (or None)."""
    return next((w for w in words if w == value), None)


# --- console (issue 15): who may do what in /admin/, lowest first ---
ConsoleRole = Literal["viewer", "editor", "admin"]

# --- inbound mail (issue 14) ---
# What one inbound message (or webhook event) turned out to be (inbound/classify.py).
InboundOutcome = Literal[
    "hard_bounce", "soft_bounce", "complaint", "unsubscribe", "auto_reply", "unmatched"
]
# Where inbound messages come from (inbound_messages.source starts with one of these).
InboundSourceKind = Literal[
    "file", "stdin", "maildir", "imap", "ses", "sendgrid", "postmark", "mailgun"
]
# Suppression reasons the inbound side writes (besides hard_bounce).
InboundSuppressionReason = Literal["complaint", "bounce_score"]
