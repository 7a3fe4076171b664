"""outbox recipient lower: the recipient index on ``lower(recipient)``, as every lookup asks

Three lookups compare addresses case-insensitively: cancelling what waits for a reader who
unsubscribed (every unsubscribe), the inbound fallback that matches a report by address,
and the console's messages to a reader. The plain index on ``recipient`` served only the
last (an exact match); the first two read ``lower(recipient)``, and at a million rows each
read the whole queue or the whole outbox. One index for another: a claim or a mark writes
no more entries.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_recipient_lower", "outbox", [sa.text("lower(recipient)")])
    op.drop_index("ix_outbox_recipient", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_recipient", "outbox", ["recipient"])
    op.drop_index("ix_outbox_recipient_lower", table_name="outbox")
