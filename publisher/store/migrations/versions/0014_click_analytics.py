"""click analytics: click counts per link and hour, unique-click sketches, email views,
per-reader clicks and their opt-outs

New tables only; nothing existing is altered.

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "click_counts",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("variant", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("hour", sa.DateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "run_id", "variant", "position", "article_id", "kind", "reason", "hour"
        ),
    )
    op.create_index("ix_click_counts_hour", "click_counts", ["hour"])
    op.create_table(
        "click_sketches",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("registers", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "source_view_buckets",
        sa.Column(
            "article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hour", sa.DateTime, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "hour", "source"),
    )  # fmt: skip
    op.create_index("ix_source_view_buckets_hour", "source_view_buckets", ["hour"])
    op.create_table(
        "reader_clicks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )  # fmt: skip
    op.create_index("ix_reader_clicks_subscriber", "reader_clicks", ["subscriber_id"])
    op.create_index("ix_reader_clicks_at", "reader_clicks", ["at"])
    op.create_table(
        "click_optouts",
        sa.Column(
            "subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True, autoincrement=False,
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("click_optouts")
    op.drop_index("ix_reader_clicks_at", "reader_clicks")
    op.drop_index("ix_reader_clicks_subscriber", "reader_clicks")
    op.drop_table("reader_clicks")
    op.drop_index("ix_source_view_buckets_hour", "source_view_buckets")
    op.drop_table("source_view_buckets")
    op.drop_table("click_sketches")
    op.drop_index("ix_click_counts_hour", "click_counts")
    op.drop_table("click_counts")
