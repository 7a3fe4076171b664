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
    text,
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
    # The last confirmation queued for a pending row, by an import or the form (0022).
    Column("confirm_asked_at", UTCDateTime(), nullable=True),
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

# The tables of the later capabilities live in their own modules, on this metadata; imported
# here (last: they import this module) so that ``metadata`` always holds every table.
from publisher.store import (  # noqa: E402
    alertschema,
    clickschema,
    consentschema,
    consoleschema,
    inboundschema,
    syndicationschema,
)

__all__ = [
    "alertschema",
    "clickschema",
    "consentschema",
    "consoleschema",
    "inboundschema",
    "metadata",
    "syndicationschema",
]

# --- the outbox's status indexes (issue 19, migrations 0018 and 0019) ---
# Partial indexes only, one per live status and one for the ended ones: the claim's ranges stay
# small as sent rows (and, on PostgreSQL, dead row versions) pile up, and a claim or a mark
# writes as few index entries as it can. Predicates are literal, as the queries write them
# (store/outboxsql.py): SQLite uses a partial index only for a query with the same term.
ENDED_WHERE = "status IN ('sent', 'failed', 'suppressed', 'expired')"
for _name, _column, _where in (
    ("ix_outbox_queued_due", outbox.c.next_attempt_at, "status = 'queued'"),
    ("ix_outbox_deferred_due", outbox.c.next_attempt_at, "status = 'deferred'"),
    ("ix_outbox_leases", outbox.c.lease_until, "status = 'sending'"),
    ("ix_outbox_ended", outbox.c.updated_at, ENDED_WHERE),
):
    Index(_name, outbox.c.status, _column, sqlite_where=text(_where), postgresql_where=text(_where))

# --- rows stored before migration 0021, by Message-ID (issue 19) ---
# Since 0021 a Message-ID names its row by id (core/messageids.py). The rows stored before it
# hold "<" + 32 hex digits + "@…": this partial index holds those alone, so a report about
# one of them is an index lookup, and no row stored since writes an entry in it (a claim or
# a mark neither: on PostgreSQL a row version enters a partial index only when it meets the
# predicate). It shrinks to nothing as those rows are purged.
PRE_0021_MESSAGE_ID = "message_id LIKE '<" + "_" * 32 + "@%'"
Index(
    "ix_outbox_message_id_old",
    outbox.c.message_id,
    sqlite_where=text(PRE_0021_MESSAGE_ID),
    postgresql_where=text(PRE_0021_MESSAGE_ID),
)
