"""digest_runs: one row per (digest id, window end), with what the archive page needs

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest_id", sa.String(40), nullable=False),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("window_end", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("most_viewed_count", sa.Integer, nullable=False),
        sa.Column("variant_count", sa.Integer, nullable=False),
        sa.Column("recipient_count", sa.Integer, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("archive_html", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("uq_digest_runs_key", "digest_runs", ["digest_id", "window_end"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_digest_runs_key", table_name="digest_runs")
    op.drop_table("digest_runs")
