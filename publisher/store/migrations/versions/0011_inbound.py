"""inbound mail: every inbound message or webhook event once, and digest holds

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("matched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outbox_id", sa.Integer, nullable=True),
        sa.Column("digest_id", sa.String(40), nullable=True),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index(
        "ix_inbound_address_outcome", "inbound_messages", ["address", "outcome", "received_at"]
    )
    op.create_index("ix_inbound_run", "inbound_messages", ["run_id", "outcome"])
    op.create_index("ix_inbound_received", "inbound_messages", ["received_at"])
    op.create_table(
        "digest_holds",
        sa.Column("digest_id", sa.String(40), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("held_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest_holds")
    op.drop_index("ix_inbound_received", "inbound_messages")
    op.drop_index("ix_inbound_run", "inbound_messages")
    op.drop_index("ix_inbound_address_outcome", "inbound_messages")
    op.drop_table("inbound_messages")
