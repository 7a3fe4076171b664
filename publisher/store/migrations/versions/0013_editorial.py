"""editorial: digest runs that wait for approval, breaking-news alerts, the reader's alert choice

- digest_runs: the approval deadline and what it does, who decided and when; a status
  column wide enough for "awaiting_approval".
- subscribers.alerts: 1 when the reader opted in to breaking-news alerts (0 for everyone
  who subscribed before: nobody gets an alert they did not ask for).
- articles.breaking_at: when an intake marked the article breaking (the alert job sends it).
- alerts: one row per article ever alerted (unique), and per (local day, slot) for the ones
  sent (unique): the daily cap and "never twice" are held by the database.

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never batch mode (a batch rebuild of subscribers cascades, see 0010).
    # "awaiting_approval" is 17 characters: the status column grows. SQLite does not enforce
    # VARCHAR lengths (and cannot ALTER a column's type without a rebuild): PostgreSQL only.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "digest_runs", "status", type_=sa.String(32), existing_type=sa.String(16),
            existing_nullable=False,
        )  # fmt: skip
    op.add_column("digest_runs", sa.Column("approval_deadline", sa.DateTime, nullable=True))
    op.add_column("digest_runs", sa.Column("on_deadline", sa.String(8), nullable=True))
    op.add_column("digest_runs", sa.Column("decided_by", sa.String(200), nullable=True))
    op.add_column("digest_runs", sa.Column("decided_at", sa.DateTime, nullable=True))
    op.create_index("ix_digest_runs_status", "digest_runs", ["status"])
    op.add_column(
        "subscribers", sa.Column("alerts", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("articles", sa.Column("breaking_at", sa.DateTime, nullable=True))
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("local_day", sa.String(10), nullable=False),
        sa.Column("slot", sa.Integer, nullable=True),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("recipient_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requested_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("uq_alerts_article", "alerts", ["article_id"], unique=True)
    op.create_index("uq_alerts_day_slot", "alerts", ["local_day", "slot"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_alerts_day_slot", "alerts")
    op.drop_index("uq_alerts_article", "alerts")
    op.drop_table("alerts")
    op.drop_column("articles", "breaking_at")
    op.drop_column("subscribers", "alerts")
    op.drop_index("ix_digest_runs_status", "digest_runs")
    op.drop_column("digest_runs", "decided_at")
    op.drop_column("digest_runs", "decided_by")
    op.drop_column("digest_runs", "on_deadline")
    op.drop_column("digest_runs", "approval_deadline")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE digest_runs SET status = 'held' WHERE status = 'awaiting_approval'")
        op.alter_column(
            "digest_runs", "status", type_=sa.String(16), existing_type=sa.String(32),
            existing_nullable=False,
        )  # fmt: skip
