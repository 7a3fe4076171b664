"""outbox live indexes: partial indexes on the rows a claim looks for (queued, deferred, leased)

A claim reads three ranges: lapsed leases (``sending``, by ``lease_until``), due deferred rows
and due queued rows (by ``next_attempt_at``). On the shared (status, next_attempt_at) index,
PostgreSQL keeps the entries of every row version until vacuum: after a million messages the
``sending`` range held a million dead entries that each claim stepped over (the drain fell to
0.64 of its first 100,000's rate). Partial indexes hold only the live statuses' entries, and
the lease range is ordered by ``lease_until``, so a claim stops at the first lease still
running. The old index stays for the status counts and the console. New indexes only.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Literal predicates: SQLite uses a partial index only for a query with the same term, and
# the claim query writes these statuses inline (store/outbox.py) for that reason. Status
# leads each index so that SQLite's planner (no statistics) prefers it to the shared one.
PARTIAL = {
    "ix_outbox_queued_due": ("next_attempt_at", "status = 'queued'"),
    "ix_outbox_deferred_due": ("next_attempt_at", "status = 'deferred'"),
    "ix_outbox_leases": ("lease_until", "status = 'sending'"),
}


def upgrade() -> None:
    for name, (column, where) in PARTIAL.items():
        op.create_index(
            name,
            "outbox",
            ["status", column],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in PARTIAL:
        op.drop_index(name, table_name="outbox")
