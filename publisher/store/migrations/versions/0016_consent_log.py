"""consent log (append-only) and advertising consent per reader

Revision ID: 0016
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0010"
branch_labels = None
depends_on = None

# PostgreSQL refuses any UPDATE or DELETE of the log: the proof of consent cannot be edited,
# not even by a bug or a hand-typed query (TRUNCATE by the owner, e.g. a restore, still works).
_PG_GUARD = """
CREATE OR REPLACE FUNCTION consent_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_log_append_only BEFORE UPDATE OR DELETE ON consent_log
    FOR EACH ROW EXECUTE FUNCTION consent_log_append_only();
"""
# SQLite: the same rule as triggers.
_SQLITE_GUARD = (
    "CREATE TRIGGER consent_log_no_update BEFORE UPDATE ON consent_log "
    "BEGIN SELECT RAISE(ABORT, 'consent_log is append-only'); END",
    "CREATE TRIGGER consent_log_no_delete BEFORE DELETE ON consent_log "
    "BEGIN SELECT RAISE(ABORT, 'consent_log is append-only'); END",
)


def upgrade() -> None:
    op.create_table(
        "consent_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("subscriber_id", sa.Integer, nullable=True),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("ip_hash", sa.String(64), nullable=True),
        sa.Column("text_version", sa.String(40), nullable=False, server_default=""),
        sa.Column("advertising", sa.Integer, nullable=False, server_default="0"),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_consent_log_address", "consent_log", ["address_hash", "id"])
    op.create_index("ix_consent_log_event_at", "consent_log", ["event", "at"])
    op.create_table(
        "advertising_consent",
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("consented_at", sa.DateTime, nullable=False),
        sa.Column("asked_at", sa.DateTime, nullable=True),
        sa.Column("lapsed_at", sa.DateTime, nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    else:
        for statement in _SQLITE_GUARD:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_log_append_only ON consent_log")
        op.execute("DROP FUNCTION IF EXISTS consent_log_append_only()")
    op.drop_table("advertising_consent")
    op.drop_table("consent_log")
