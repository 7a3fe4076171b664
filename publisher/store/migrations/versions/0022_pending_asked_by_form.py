"""pending asked by form: an imported pending row asked through the sign-up form is marked

Since this revision the form marks the row asked when it queues a confirmation, as an
import's ask always did (``subscribers.confirm_asked_at``), and the nightly cleanup reads
that column alone. Before, it found the form's ask by comparing the reader's address with
the outbox's recipients: a read of the whole outbox, blind to a reader whose domain is an
IDN (the outbox holds its punycode), whose row was then kept past its time. This sets the
column of the pending imported rows asked that way before to their last ask: the newest
confirmation whose dedupe key names the row's id (``confirm:ID:…``) and whose recipient is
the row's address, when it is later than an import's ask (or there was none). The outbox's
confirmations are streamed, so memory grows with the pending imported rows alone.

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
    imported = sa.select(s.id, s.email, s.confirm_asked_at).where(
        s.status == "pending", s.origin == "import"
    )
    waiting: dict[int, str] = {}
    asked: dict[int, datetime | None] = {}
    for sid, email, at in conn.execute(imported):
        waiting[int(sid)], asked[int(sid)] = canonical(str(email)), at
    if not waiting:
        return
    later: dict[int, datetime] = {}
    confirms = (
        sa.select(_outbox.c.dedupe_key, _outbox.c.recipient, _outbox.c.created_at)
        .where(_outbox.c.kind == "confirm")
        .execution_options(stream_results=True, yield_per=2000)
    )
    for key, recipient, at in conn.execute(confirms):
        sid = _subscriber_id(str(key))
        if sid is None or waiting.get(sid) != canonical(str(recipient)):
            continue
        before = later.get(sid) or asked[sid]
        if before is None or at > before:
            later[sid] = at
    if later:
        mark = sa.update(_subscribers).where(s.id == sa.bindparam("sid"))
        conn.execute(
            mark.values(confirm_asked_at=sa.bindparam("at")),
            [{"sid": sid, "at": at} for sid, at in later.items()],
        )


def _subscriber_id(dedupe_key: str) -> int | None:
    """The subscriber a confirmation's key names: ``confirm:ID:NONCE`` (or ``confirm:ID``)."""
    parts = dedupe_key.split(":")
    if len(parts) < 2 or parts[0] != "confirm" or not parts[1].isdigit():
        return None
    return int(parts[1])


def downgrade() -> None:
    # Nothing to undo: the older cleanup reads the column too, and finds these rows asked.
    pass
