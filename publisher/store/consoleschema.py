"""Tables of the console's operators, sessions, audit log and daily counts (issue 15).

They sit on the one ``metadata`` of ``schema``, which imports this module at its end, so
the metadata is whole wherever it is used."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)

from publisher.store.db import UTCDateTime
from publisher.store.schema import metadata, outbox, subscribers, suppressions

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

# Lookups the console makes: a reader's messages, name search. (Recent changes to the outbox
# go through the ended rows' partial index, schema.py, since migration 0019.) Addresses are
# compared case-insensitively, here and in the inbound and unsubscribe lookups (0020).
Index("ix_outbox_recipient_lower", func.lower(outbox.c.recipient))
Index("ix_subscribers_name", subscribers.c.name)
Index("ix_subscribers_confirmed_at", subscribers.c.confirmed_at)
Index("ix_subscribers_unsubscribed_at", subscribers.c.unsubscribed_at)
Index("ix_suppressions_created_at", suppressions.c.created_at)
# On PostgreSQL only, migration 0012 also indexes subscribers.email_key, subscribers.name and
# suppressions.email COLLATE "C", for the console's prefix searches (store/consoleviews.py).
