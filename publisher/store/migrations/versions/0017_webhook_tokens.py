"""webhook tokens: each signed token of a webhook (Mailgun) used once within its window

New table only; nothing existing is altered.

Revision ID: 0017
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_tokens",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", "token"),
    )
    op.create_index("ix_webhook_tokens_signed", "webhook_tokens", ["signed_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_tokens_signed", "webhook_tokens")
    op.drop_table("webhook_tokens")
