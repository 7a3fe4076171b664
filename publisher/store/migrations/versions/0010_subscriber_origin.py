"""subscribers: where a pending row came from, and when it was asked to confirm

Imported rows that were never asked to confirm must not be purged as stale sign-ups.
Existing pending rows for which no confirmation was ever queued are taken as imported.

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, never batch mode: on SQLite a batch rebuild drops the table, and
    # with foreign keys on that drop cascades and empties every reader's sections.
    op.add_column(
        "subscribers", sa.Column("origin", sa.String(16), nullable=False, server_default="signup")
    )
    op.add_column("subscribers", sa.Column("confirm_asked_at", sa.DateTime, nullable=True))
    # Pending rows nobody ever sent a confirmation to came from an import (or the CLI):
    # they are kept until an operator asks them, never purged as unanswered sign-ups.
    op.execute(
        "UPDATE subscribers SET origin = 'import' WHERE status = 'pending' AND email NOT IN "
        "(SELECT recipient FROM outbox WHERE kind = 'confirm')"
    )


def downgrade() -> None:
    op.drop_column("subscribers", "confirm_asked_at")
    op.drop_column("subscribers", "origin")
