"""outbox message id old: Message-IDs name their row; the rows stored before, indexed apart

Since this revision a row stores ``<HEX.0@DOMAIN>`` and is sent as ``<HEX.ID@DOMAIN>``
(core/messageids.py), so a report that quotes our Message-ID finds its row by primary key.
Rows stored before hold ``<HEX@DOMAIN>``; this partial index holds those alone, so a report
about one is an index lookup too. Before, every lookup by Message-ID read the whole outbox
(about 0.3 s at a million rows). A plain index on the column would do the same, but on
PostgreSQL a claim and a mark (both change ``status``, so neither is a HOT update) would
each write an entry in it too; no row stored since this revision enters this one.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# As store/schema.py and the query write it: SQLite uses a partial index only for a query
# that carries the very same term.
PRE_0021_MESSAGE_ID = "message_id LIKE '<" + "_" * 32 + "@%'"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_message_id_old",
        "outbox",
        ["message_id"],
        sqlite_where=sa.text(PRE_0021_MESSAGE_ID),
        postgresql_where=sa.text(PRE_0021_MESSAGE_ID),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_message_id_old", table_name="outbox")
