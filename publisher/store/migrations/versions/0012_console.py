"""console: operators, sessions, the audit log, daily counts, and the console's lookup indexes

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0015"
branch_labels = None
depends_on = None

# Plain CREATE INDEX only: never a batch rebuild of subscribers (it would empty subscriptions).
INDEXES = (
    ("ix_outbox_recipient", "outbox", ["recipient"]),
    ("ix_outbox_updated_at", "outbox", ["updated_at"]),
    ("ix_subscribers_name", "subscribers", ["name"]),
    ("ix_subscribers_confirmed_at", "subscribers", ["confirmed_at"]),
    ("ix_subscribers_unsubscribed_at", "subscribers", ["unsubscribed_at"]),
    ("ix_suppressions_created_at", "suppressions", ["created_at"]),
)


# PostgreSQL compares text by the database's collation, where a prefix range is not a prefix
# (en_US ignores punctuation such as "@" and "."): the console's prefix searches compare in
# "C" (byte) order, through these indexes. SQLite compares bytes already.
PG_PREFIX_INDEXES = (
    ("ix_subscribers_email_key_c", "subscribers", "email_key"),
    ("ix_subscribers_name_c", "subscribers", "name"),
    ("ix_suppressions_email_c", "suppressions", "email"),
)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("invite_hash", sa.String(64), nullable=True),
        sa.Column("invite_expires_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_signin_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("console_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_console_sessions_user", "console_sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "key"),
    )
    op.create_table(
        "rollup_marks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("done_at", sa.DateTime, nullable=False),
    )
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    if op.get_bind().dialect.name == "postgresql":
        for name, table, col in PG_PREFIX_INDEXES:
            op.execute(f'CREATE INDEX {name} ON {table} ({col} COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _col in PG_PREFIX_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, table, _cols in INDEXES:
        op.drop_index(name, table_name=table)
    for table in ("rollup_marks", "daily_counts", "audit_log", "console_sessions"):
        op.drop_table(table)
    op.drop_table("console_users")
