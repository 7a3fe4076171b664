"""foundation: sections, articles, view buckets, subscribers, subscriptions, suppressions

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sections",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(200), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content_html", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("section", sa.String(64), sa.ForeignKey("sections.slug"), nullable=True),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("image_url", sa.Text, nullable=True),
        sa.Column("image_caption", sa.Text, nullable=True),
        sa.Column("image_type", sa.String(100), nullable=True),
        sa.Column("image_length", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("registered_at", sa.DateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
    op.create_index("ix_articles_section_published", "articles", ["section", "published_at"])
    op.create_index("ix_articles_registered_at", "articles", ["registered_at"])
    op.create_table(
        "view_buckets",
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hour", sa.DateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "hour"),
    )
    op.create_index("ix_view_buckets_hour", "view_buckets", ["hour"])
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime, nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_subscribers_status_frequency", "subscribers", ["status", "frequency"])
    op.create_table(
        "subscriptions",
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("section", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("subscriber_id", "section"),
    )
    op.create_table(
        "suppressions",
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("email", "scope"),
    )


def downgrade() -> None:
    for table in (
        "suppressions",
        "subscriptions",
        "subscribers",
        "view_buckets",
        "articles",
        "sections",
    ):
        op.drop_table(table)
