"""syndication: the event log and its consumers' cursors, webhook deliveries and endpoint
state, the IndexNow queue and endpoint state, an index on articles.updated_at, and the
image's width, height and credit

Revision ID: 0015
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_events_type", "events", ["type", "id"])
    op.create_index("ix_events_subject", "events", ["subject"])
    op.create_table(
        "event_cursors",
        sa.Column("consumer", sa.String(80), primary_key=True),
        sa.Column("last_id", sa.Integer, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("event", sa.Integer, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("delivered_at", sa.DateTime, nullable=True),
    )
    op.create_index(
        "uq_webhook_deliveries", "webhook_deliveries", ["endpoint", "event"], unique=True
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["endpoint", "status", "next_attempt_at"]
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("failing_since", sa.DateTime, nullable=True),
        sa.Column("disabled_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
    )
    op.create_table(
        "indexnow_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("uq_indexnow_queue", "indexnow_queue", ["endpoint", "url"], unique=True)
    op.create_table(
        "indexnow_state",
        sa.Column("endpoint", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("refused_key", sa.String(128), nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
    )
    op.create_index("ix_articles_updated_at", "articles", ["updated_at"])
    # Plain ADD COLUMN (no batch rebuild): the image's size and credit.
    op.add_column("articles", sa.Column("image_width", sa.Integer, nullable=True))
    op.add_column("articles", sa.Column("image_height", sa.Integer, nullable=True))
    op.add_column("articles", sa.Column("image_credit", sa.Text, nullable=True))


def downgrade() -> None:
    for column in ("image_credit", "image_height", "image_width"):
        op.drop_column("articles", column)
    op.drop_index("ix_articles_updated_at", "articles")
    for table in (
        "indexnow_state", "indexnow_queue", "webhook_endpoints", "webhook_deliveries",
        "event_cursors", "events",
    ):  # fmt: skip
        op.drop_table(table)
