"""outbox lean indexes: fewer index writes per message sent

Every message is written twice, by its claim and by its mark. On SQLite each write touches
the indexes whose columns change; ``ix_outbox_status_next`` and ``ix_outbox_updated_at``
changed on both (a delete and an insert each): a batch of marks cost 18 µs a row with them and
8 µs without (a scratch run; bench/claimmark.py times claims and marks together, beside the
indexes as they were before this migration). On PostgreSQL an update that changes
an indexed column writes a new entry into every index whose predicate the row meets, so each
index less is one entry less per write. The partial indexes of 0018 serve the live statuses;
this one serves the ended ones (the dashboard's rollup by ``updated_at``, ``outbox
requeue-failed``, the console's status filter). A row enters it once, at its mark; a claim
does not touch it. Plain CREATE/DROP INDEX only.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The predicate as the queries write it (store/outboxsql.py is_ended): SQLite uses this
# partial index only for a query that carries the very same term.
ENDED_WHERE = "status IN ('sent', 'failed', 'suppressed', 'expired')"
DROPPED = {
    "ix_outbox_status_next": ["status", "next_attempt_at"],
    "ix_outbox_updated_at": ["updated_at"],
}


def upgrade() -> None:
    op.create_index(
        "ix_outbox_ended",
        "outbox",
        ["status", "updated_at"],
        sqlite_where=sa.text(ENDED_WHERE),
        postgresql_where=sa.text(ENDED_WHERE),
    )
    for name in DROPPED:
        op.drop_index(name, table_name="outbox")


def downgrade() -> None:
    for name, columns in DROPPED.items():
        op.create_index(name, "outbox", columns)
    op.drop_index("ix_outbox_ended", table_name="outbox")
