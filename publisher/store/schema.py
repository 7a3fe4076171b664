"""Tables (SQLAlchemy Core). Migrations in store/migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.engine.default import DefaultExecutionContext

from publisher.core.addresses import canonical
from publisher.store.db import UTCDateTime

metadata = MetaData()

sections = Table(
    "sections",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("position", Integer, nullable=False, default=1000),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("content_html", Text, nullable=False, default=""),
    Column("author", String(200), nullable=False, default=""),
    Column("section", String(64), ForeignKey("sections.slug"), nullable=True),
    Column("tags", Text, nullable=False, default="[]"),  # JSON array of strings
    Column("image_url", Text, nullable=True),
    Column("image_caption", Text, nullable=True),
    Column("image_type", String(100), nullable=True),
    Column("image_length", Integer, nullable=True),
    Column("status", String(16), nullable=False, default="published"),
    Column("published_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("breaking_at", UTCDateTime(), nullable=True),  # 0013: an intake marked it breaking
    Index("ix_articles_published_at", "published_at"),
    Index("ix_articles_section_published", "section", "published_at"),
    Index("ix_articles_registered_at", "registered_at"),
)

view_buckets = Table(
    "view_buckets",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("hour", UTCDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("article_id", "hour"),
    Index("ix_view_buckets_hour", "hour"),
)


def _email_key(context: DefaultExecutionContext) -> str:
    params = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return canonical(str(params["email"]))


subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # as typed: shown and mailed to
    # addresses.canonical(email): every lookup, limit and suppression is keyed on this (0008).
    # The default keys any insert that names only the email.
    Column("email_key", String(320), nullable=False, default=_email_key),
    Column("name", String(200), nullable=False, default=""),
    Column("status", String(16), nullable=False, default="pending"),
    Column("frequency", String(16), nullable=False, default="daily"),
    Column("language", String(8), nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("confirmed_at", UTCDateTime(), nullable=True),
    Column("unsubscribed_at", UTCDateTime(), nullable=True),
    # The one pending confirmation request (0008): its nonce is in the emailed token, and the
    # choice it asked for ({name, sections, frequency, language} as JSON) is applied only when
    # that token confirms. A new request or any status change replaces or clears both.
    Column("confirm_nonce", Integer, nullable=True),
    Column("pending_choice", Text, nullable=True),
    # Migration 0010. signup (the web form, which asks at once) | import (the CLI or API:
    # nobody was asked until an operator sends confirmations). Cleanup purges unanswered
    # sign-ups, never imported rows that were not asked.
    Column("origin", String(16), nullable=False, default="signup", server_default="signup"),
    Column("confirm_asked_at", UTCDateTime(), nullable=True),  # last confirmation an import sent
    # Migration 0013: 1 = the reader opted in to breaking-news alerts (default off).
    Column("alerts", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_subscribers_status_frequency", "status", "frequency"),
    Index("uq_subscribers_email_key", "email_key", unique=True),
)

# Ids merged into another subscriber when addresses were folded (0008): links already mailed
# name the old id, and must still unsubscribe the merged row.
subscriber_aliases = Table(
    "subscriber_aliases",
    metadata,
    Column("old_id", Integer, primary_key=True, autoincrement=False),
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("section", String(64), nullable=False),
    PrimaryKeyConstraint("subscriber_id", "section"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("email", String(320), nullable=False),  # addresses.canonical form (0008)
    Column("scope", String(16), nullable=False, default="all"),  # all | share
    Column("reason", String(32), nullable=False),  # unsubscribed | hard_bounce | manual | …
    Column("detail", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("email", "scope"),
)

# Rendered content, stored once per variant; outbox rows point at it.
contents = Table(
    "contents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("body", LargeBinary, nullable=False),  # CRLF message bytes with %%PLACEHOLDERS%%
    Column("created_at", UTCDateTime(), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(300), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),  # digest | confirm | share | test
    Column("recipient", String(320), nullable=False),
    Column("content_id", Integer, ForeignKey("contents.id"), nullable=False),
    Column("substitutions", Text, nullable=False, default="{}"),  # JSON {placeholder: value}
    Column("status", String(16), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("lease_owner", String(64), nullable=True),
    # Who holds the lease: host (+ PID namespace) and "pid/start ticks", so a drain that starts
    # can free at once the leases of a dead drain on the same host (migration 0007).
    Column("lease_host", String(255), nullable=True),
    Column("lease_process", String(64), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("last_reply", Text, nullable=True),
    Column("message_id", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_content", "content_id"),
)

# --- digests (issue 5) ---
# One row per digest run key. The unique constraint is what makes a double fire harmless.
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", String(40), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    # running | enqueued | stale | too_few | awaiting_approval | held | skipped (32 since 0013)
    Column("status", String(32), nullable=False),
    Column("item_count", Integer, nullable=False, default=0),
    Column("most_viewed_count", Integer, nullable=False, default=0),
    Column("variant_count", Integer, nullable=False, default=0),
    Column("recipient_count", Integer, nullable=False, default=0),
    Column("subject", Text, nullable=False, default=""),
    Column("archive_html", Text, nullable=False, default=""),  # no personal links
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    # Migration 0013 (approval): when an unapproved run is skipped or sent, and who decided.
    Column("approval_deadline", UTCDateTime(), nullable=True),
    Column("on_deadline", String(8), nullable=True),  # skip | send
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    # A unique index (not a table constraint) so both backends can ON CONFLICT on it.
    Index("uq_digest_runs_key", "digest_id", "window_end", unique=True),
    Index("ix_digest_runs_status", "status"),
)

# --- sources (issue 7) ---
# One row per configured source (by name): what the next poll needs, and what status shows.
source_state = Table(
    "source_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("target", Text, nullable=False),  # folder path or URL: a change resets the state
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("since_cursor", Text, nullable=True),
    Column("last_attempt_at", UTCDateTime(), nullable=True),
    Column("last_success_at", UTCDateTime(), nullable=True),
    Column("failures", Integer, nullable=False, default=0),  # consecutive
    Column("last_error", Text, nullable=False, default=""),
    Column("last_result", Text, nullable=False, default=""),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
)

# --- web: durable rate-limit counters and the share log (migration 0005) ---

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(200), nullable=False),  # e.g. share-ip:<hash>, confirm:<hash>
    Column("window_start", UTCDateTime(), nullable=False),
    Column("count", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("key", "window_start"),
)

share_log = Table(
    "share_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(200), nullable=False),  # the article's external id
    Column("recipient", String(320), nullable=False),  # kept so the footer link can block it
    Column("ip_hash", String(64), nullable=False),  # keyed hash, never the address itself
    Column("sender_name", String(100), nullable=False),
    Column("enqueued", Integer, nullable=False, default=1),  # 0: recipient had blocked shares
    Column("created_at", UTCDateTime(), nullable=False),
)

# --- consent log (issue 18, migration 0016) ---
# Append-only: rows are inserted, never changed or deleted (no store function does; on
# PostgreSQL a trigger refuses UPDATE and DELETE). No address is stored: ``address_hash`` is
# an HMAC of the canonical address with the site secret, so a deleted reader's proof of
# consent stays without their address, and the log cannot be reversed by hashing guesses.
consent_log = Table(
    "consent_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address_hash", String(64), nullable=False),
    Column("subscriber_id", Integer, nullable=True),  # informative: ids are reused
    Column("event", String(24), nullable=False),  # vocab.ConsentEvent
    Column("channel", String(16), nullable=False),  # vocab.ConsentChannel
    Column("at", UTCDateTime(), nullable=False),  # when it happened (the source's, on import)
    Column("recorded_at", UTCDateTime(), nullable=False),  # when this row was written
    Column("ip_hash", String(64), nullable=True),  # keyed hash of the client IP (web only)
    Column("text_version", String(40), nullable=False, default=""),
    Column("advertising", Integer, nullable=False, default=0),  # 1: consent to advertising
    Column("detail", Text, nullable=False, default="{}"),  # JSON: choices, source tool, …
    Index("ix_consent_log_address", "address_hash", "id"),
    Index("ix_consent_log_event_at", "event", "at"),
)

# Advertising consent per reader (mutable state the digest run and the reconfirmation job
# read; every change to it is also a consent_log row). No row: consent dates from confirmed_at.
advertising_consent = Table(
    "advertising_consent",
    metadata,
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("consented_at", UTCDateTime(), nullable=False),
    Column("asked_at", UTCDateTime(), nullable=True),  # reconfirmation mailed
    Column("lapsed_at", UTCDateTime(), nullable=True),  # no answer in time: no advertising
)

# --- editorial: breaking-news alerts (issue 15, migration 0013) ---
# One row per article ever alerted: the unique article id is "never twice"; a sent alert
# takes slot 1..alerts_per_day of its local day, unique, so the cap holds under concurrency.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(200), nullable=False),  # the article's external id
    Column("title", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),  # sent | over_cap
    Column("local_day", String(10), nullable=False),  # YYYY-MM-DD in the site timezone
    Column("slot", Integer, nullable=True),  # NULL when refused
    Column("subject", Text, nullable=False, default=""),
    Column("recipient_count", Integer, nullable=False, default=0),
    Column("requested_by", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("uq_alerts_article", "article_id", unique=True),
    Index("uq_alerts_day_slot", "local_day", "slot", unique=True),
)

# --- syndication (issue 17, migration 0015) ---
# The durable event log: appended in the transaction of the change it tells of. ``event_id``
# is what receivers deduplicate on (a retried webhook carries the same one).
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("subject", String(200), nullable=False),  # article external id, run id, subscriber id
    Column("payload", Text, nullable=False),  # JSON object
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_events_type", "type", "id"),
    Index("ix_events_subject", "subject"),
)

# How far each consumer of the event log (a webhook endpoint, IndexNow) has read.
event_cursors = Table(
    "event_cursors",
    metadata,
    Column("consumer", String(80), primary_key=True),
    Column("last_id", Integer, nullable=False, default=0),
)

# One row per (endpoint, event): pending until the receiver answers 2xx.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(64), nullable=False),
    Column("event", Integer, ForeignKey("events.id"), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Index("uq_webhook_deliveries", "endpoint", "event", unique=True),
    Index("ix_webhook_deliveries_due", "endpoint", "status", "next_attempt_at"),
)

# Per endpoint: the failure streak and whether it was disabled for it.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed attempts
    Column("failing_since", UTCDateTime(), nullable=True),
    Column("disabled_at", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=False, default=""),
)

# Article URLs waiting for an IndexNow endpoint; a row goes once the endpoint took it.
indexnow_queue = Table(
    "indexnow_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("uq_indexnow_queue", "endpoint", "url", unique=True),
)

# Per IndexNow endpoint: backoff after failures, and a key it refused (403: stop until fixed).
indexnow_state = Table(
    "indexnow_state",
    metadata,
    Column("endpoint", String(300), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("refused_key", String(128), nullable=True),
    Column("last_error", Text, nullable=False, default=""),
)

# The image's pixel size and credit, for ninjs and the partner MRSS feed (issue 17).
articles.append_column(Column("image_width", Integer, nullable=True))
articles.append_column(Column("image_height", Integer, nullable=True))
articles.append_column(Column("image_credit", Text, nullable=True))
# The monthly sitemaps find "something changed" from the newest update (issue 17).
Index("ix_articles_updated_at", articles.c.updated_at)

# --- console (issue 15, migration 0012): operators, their sessions, the audit log, daily counts ---

console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False, unique=True),  # addresses.canonical
    Column("role", String(16), nullable=False),  # viewer | editor | admin
    Column("password_hash", Text, nullable=True),  # Argon2id; None until the invitation is used
    Column("invite_hash", String(64), nullable=True),  # sha256 of the one-time sign-in link
    Column("invite_expires_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_signin_at", UTCDateTime(), nullable=True),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie's session id
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Index("ix_console_sessions_user", "user_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(320), nullable=False),  # the operator's address, or "cli"
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default="{}"),  # JSON object
    Column("ip", String(64), nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
)

# Pre-aggregated counts per local day, so the dashboard never scans the outbox.
daily_counts = Table(
    "daily_counts",
    metadata,
    Column("day", String(10), nullable=False),  # YYYY-MM-DD in the site's time zone
    Column("metric", String(32), nullable=False),  # subscribers | messages
    Column("key", String(64), nullable=False),  # confirmed | digest:sent | …
    Column("count", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("day", "metric", "key"),
)

rollup_marks = Table(
    "rollup_marks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("done_at", UTCDateTime(), nullable=False),
)

# Lookups the console makes: a reader's messages, recent changes, name search.
Index("ix_outbox_recipient", outbox.c.recipient)
Index("ix_outbox_updated_at", outbox.c.updated_at)
Index("ix_subscribers_name", subscribers.c.name)
Index("ix_subscribers_confirmed_at", subscribers.c.confirmed_at)
Index("ix_subscribers_unsubscribed_at", subscribers.c.unsubscribed_at)
Index("ix_suppressions_created_at", suppressions.c.created_at)
# On PostgreSQL only, migration 0012 also indexes subscribers.email_key, subscribers.name and
# suppressions.email COLLATE "C", for the console's prefix searches (store/consoleviews.py).

# --- inbound mail (issue 14, migration 0011) ---
# One row per inbound message or webhook event, written with its effect in one transaction:
# the unique key (a hash of the Message-ID, or of the bytes) makes reprocessing apply nothing
# twice. Soft bounces per address (the bounce score) and bounces and complaints per digest
# run are counted from here.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("source", String(80), nullable=False),  # kind:name, e.g. maildir:bounces
    Column("received_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # core.vocab.InboundOutcome
    Column("matched", Integer, nullable=False, default=0),  # 1: named one of our messages
    Column("outbox_id", Integer, nullable=True),  # no foreign key: outbox rows are purged
    Column("digest_id", String(40), nullable=True),
    Column("run_id", Integer, nullable=True),
    Column("address", String(320), nullable=True),  # canonical form
    Column("detail", Text, nullable=False, default=""),
    Index("ix_inbound_address_outcome", "address", "outcome", "received_at"),
    Index("ix_inbound_run", "run_id", "outcome"),
    Index("ix_inbound_received", "received_at"),
)

# Digests whose runs are held (the complaint circuit breaker, or an operator) until resumed.
digest_holds = Table(
    "digest_holds",
    metadata,
    Column("digest_id", String(40), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("held_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
