"""pending asked by form: an imported pending row asked through the sign-up form is marked

Since this revision the form marks the row asked when it queues a confirmation, as an
import's ask always did (``subscribers.confirm_asked_at``), and the nightly cleanup reads
that column alone. Before, it found the form's ask by comparing the reader's address with
the outbox's recipients: a read of the whole outbox, blind to a reader whose domain is an
IDN (the outbox holds its punycode), whose row was then kept past its time. This fills the
column for the rows asked that way before: the newest confirmation whose dedupe key names
the row's id (``confirm:ID:…``) and whose recipient is the row's address.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from publisher.core.addresses import canonical

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_subscribers = sa.table(
    "subscribers",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("status", sa.String),
    sa.column("origin", sa.String),
    sa.column("confirm_asked_at", sa.DateTime),
)
_outbox = sa.table(
    "outbox",
    sa.column("dedupe_key", sa.String),
    sa.column("kind", sa.String),
    sa.column("recipient", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    conn = op.get_bind()
    s = _subscribers.c
    unasked = sa.select(s.id, s.email).where(
        s.status == "pending", s.origin == "import", s.confirm_asked_at.is_(None)
    )
    waiting = {int(i): canonical(str(e)) for i, e in conn.execute(unasked)}
    if not waiting:
        return
    asked: dict[int, datetime] = {}
    confirms = sa.select(_outbox.c.dedupe_key, _outbox.c.recipient, _outbox.c.created_at)
    for key, recipient, at in conn.execute(confirms.where(_outbox.c.kind == "confirm")):
        parts = str(key).split(":")
        if len(parts) < 2 or parts[0] != "confirm" or not parts[1].isdigit():
            continue
        sid = int(parts[1])
        if waiting.get(sid) == canonical(str(recipient)):
            asked[sid] = max(at, asked.get(sid, at))
    mark = sa.update(_subscribers).where(s.id == sa.bindparam("sid"))
    if asked:
        conn.execute(
            mark.values(confirm_asked_at=sa.bindparam("at")),
            [{"sid": sid, "at": at} for sid, at in asked.items()],
        )


def downgrade() -> None:
    # Nothing to undo: the older cleanup reads the column too, and finds these rows asked.
    pass
