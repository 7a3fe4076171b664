"""canonical addresses: email_key, folded suppressions, aliases, pending confirmation requests

Revision ID: 0008
Revises: 0006

Every per-address protection is keyed on ``addresses.canonical`` (lower-cased local part,
IDNA-normalised domain) from now on; the address as typed stays in ``subscribers.email``.

Folding existing rows:

- subscribers that fold to one key are merged into one row. Unsubscribed wins: if any of them
  is unsubscribed, the merged row is unsubscribed (the reader said stop from that mailbox, and
  mailing them again would be the worse mistake); otherwise confirmed wins over pending. The
  row kept is the most recent one in that winning state (latest unsubscribed_at, else latest
  confirmed_at, else latest created_at); its name, choice and typed address stay, the others'
  rows and sections go, and the earliest created_at is kept. The merged-away ids are kept in
  subscriber_aliases, so the unsubscribe and preferences links already mailed for them still
  act on the merged row.
- suppressions are re-keyed to the canonical form; of entries that fold to one (key, scope)
  the strictest is kept: any reason but "unsubscribed" (a hard bounce also stops
  confirmations), else the earliest.
- rate counters are keyed by a hash of the address and cannot be folded; they live one day.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from publisher.core.addresses import canonical

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_subscribers = sa.table(
    "subscribers",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("confirmed_at", sa.DateTime),
    sa.column("unsubscribed_at", sa.DateTime),
)
_aliases = sa.table(
    "subscriber_aliases", sa.column("old_id", sa.Integer), sa.column("subscriber_id", sa.Integer)
)
_subscriptions = sa.table("subscriptions", sa.column("subscriber_id", sa.Integer))
_suppressions = sa.table(
    "suppressions",
    sa.column("email", sa.String),
    sa.column("scope", sa.String),
    sa.column("reason", sa.String),
    sa.column("detail", sa.Text),
    sa.column("created_at", sa.DateTime),
)


def _latest(rows: list[Any], column: str) -> Any:
    return max(rows, key=lambda r: (getattr(r, column) is not None, getattr(r, column), r.id))


def _survivor(rows: list[Any]) -> tuple[Any, dict[str, Any]]:
    """The row a group of one mailbox folds into, and the values it takes."""
    unsubscribed = [r for r in rows if r.status == "unsubscribed"]
    confirmed = [r for r in rows if r.status == "confirmed"]
    if unsubscribed:
        keep = _latest(unsubscribed, "unsubscribed_at")
    elif confirmed:
        keep = _latest(confirmed, "confirmed_at")
    else:
        keep = _latest(rows, "created_at")
    return keep, {"created_at": min(r.created_at for r in rows)}


def _fold_subscribers(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(_subscribers)).all()
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        groups[canonical(r.email)].append(r)
    keys: list[dict[str, Any]] = []
    for key, group in groups.items():
        if len(group) == 1:
            keys.append({"b_id": group[0].id, "b_key": key})
            continue
        keep, values = _survivor(group)
        gone = [r.id for r in group if r.id != keep.id]
        # Links already mailed name the old ids: they keep working through the alias.
        conn.execute(sa.insert(_aliases), [{"old_id": g, "subscriber_id": keep.id} for g in gone])
        conn.execute(sa.delete(_subscriptions).where(_subscriptions.c.subscriber_id.in_(gone)))
        conn.execute(sa.delete(_subscribers).where(_subscribers.c.id.in_(gone)))
        conn.execute(sa.update(_subscribers).where(_subscribers.c.id == keep.id).values(**values))
        keys.append({"b_id": keep.id, "b_key": key})
    if keys:  # one executemany: a large list migrates in seconds, not a statement per row
        conn.execute(
            sa.update(_subscribers)
            .where(_subscribers.c.id == sa.bindparam("b_id"))
            .values(email_key=sa.bindparam("b_key")),
            keys,
        )


def _rank(row: Any) -> tuple[int, Any]:
    return (0 if row.reason != "unsubscribed" else 1, row.created_at)


def _fold_suppressions(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(_suppressions)).all()
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(canonical(r.email), r.scope)].append(r)
    for (key, scope), group in groups.items():
        if len(group) == 1 and group[0].email == key:
            continue
        keep = min(group, key=_rank)
        for r in group:
            conn.execute(
                sa.delete(_suppressions).where(
                    _suppressions.c.email == r.email, _suppressions.c.scope == r.scope
                )
            )
        conn.execute(
            sa.insert(_suppressions).values(
                email=key, scope=scope, reason=keep.reason, detail=keep.detail,
                created_at=keep.created_at,
            )
        )  # fmt: skip


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, never batch mode: on SQLite a batch rebuild drops the table, and
    # with foreign_keys=ON that DROP cascades and empties subscriptions (every reader's
    # sections). Hence also the NOT NULL with a default, which needs no rebuild.
    op.add_column(
        "subscribers", sa.Column("email_key", sa.String(320), nullable=False, server_default="")
    )
    op.add_column("subscribers", sa.Column("confirm_nonce", sa.Integer, nullable=True))
    op.add_column("subscribers", sa.Column("pending_choice", sa.Text, nullable=True))
    op.create_table(
        "subscriber_aliases",
        sa.Column("old_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    conn = op.get_bind()
    _fold_subscribers(conn)
    _fold_suppressions(conn)
    if conn.dialect.name != "sqlite":  # SQLite cannot drop a default without a rebuild
        op.alter_column("subscribers", "email_key", server_default=None)
    op.create_index("uq_subscribers_email_key", "subscribers", ["email_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_subscribers_email_key", table_name="subscribers")
    op.drop_table("subscriber_aliases")
    for name in ("pending_choice", "confirm_nonce", "email_key"):
        op.execute(f"ALTER TABLE subscribers DROP COLUMN {name}")  # SQLite >= 3.35 and PG
