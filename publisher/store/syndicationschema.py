"""Tables of the event log, webhook deliveries, IndexNow and the article image fields (issue 17).

They sit on the one ``metadata`` of ``schema``, which imports this module at its end, so
the metadata is whole wherever it is used."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from publisher.store.db import UTCDateTime
from publisher.store.schema import articles, metadata

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
