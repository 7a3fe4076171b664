"""Tables of breaking-news alerts (issue 15).

They sit on the one ``metadata`` of ``schema``, which imports this module at its end, so
the metadata is whole wherever it is used."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from publisher.store.db import UTCDateTime
from publisher.store.schema import metadata

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
