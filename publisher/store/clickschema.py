"""Tables of click analytics (issue 16).

They sit on the one ``metadata`` of ``schema``, which imports this module at its end, so
the metadata is whole wherever it is used."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
)

from publisher.store.db import UTCDateTime
from publisher.store.schema import metadata

# --- click analytics (issue 16, migration 0014) ---
# Clicks on tracked links, counted per link and hour: no reader, no address, no IP. A link is
# (run, variant, position, article); the open pixel is position 0, article 0. Machine clicks
# (scanners, prefetch, HEAD, bursts) are kept apart with their reason; human ones have "".
click_counts = Table(
    "click_counts",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("variant", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("article_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # human | machine
    Column("reason", String(32), nullable=False, default=""),
    Column("hour", UTCDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "variant", "position", "article_id", "kind", "reason", "hour"),
    Index("ix_click_counts_hour", "hour"),
)

# One HyperLogLog sketch of the distinct clients who clicked a human link of a run: the
# unique-click estimate without keeping who they were.
click_sketches = Table(
    "click_sketches",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("registers", LargeBinary, nullable=False),
)

# Views from sources other than the site's beacons (source "email": human clicks on digest
# links), hourly per article; the ranking weighs each source (most_viewed_sources).
source_view_buckets = Table(
    "source_view_buckets",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("hour", UTCDateTime(), nullable=False),
    Column("source", String(16), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("article_id", "hour", "source"),
    Index("ix_source_view_buckets_hour", "hour"),
)

# Per-reader clicks, only with track_per_reader: deleted after click_retention.
reader_clicks = Table(
    "reader_clicks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("run_id", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("article_id", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_reader_clicks_subscriber", "subscriber_id"),
    Index("ix_reader_clicks_at", "at"),
)

# Readers who turned per-reader click tracking off on their preferences page.
click_optouts = Table(
    "click_optouts",
    metadata,
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True, autoincrement=False,
    ),
    Column("created_at", UTCDateTime(), nullable=False),
)  # fmt: skip
