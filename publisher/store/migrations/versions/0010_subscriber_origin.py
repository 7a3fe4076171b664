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
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(16), nullable=False, server_default="signup")
        )
        batch.add_column(sa.Column("confirm_asked_at", sa.DateTime, nullable=True))
    # Pending rows nobody ever sent a confirmation to came from an import (or the CLI):
    # they are kept until an operator asks them, never purged as unanswered sign-ups.
    op.execute(
        "UPDATE subscribers SET origin = 'import' WHERE status = 'pending' AND email NOT IN "
        "(SELECT recipient FROM outbox WHERE kind = 'confirm')"
    )


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("confirm_asked_at")
        batch.drop_column("origin")
