"""The drain's outbox statements, each built once with bound parameters.

A statement built per call costs SQLAlchemy a new cache key each time (a tenth of the drain's
database thread); these are built once per shape and database, then executed with values.
Lists go in as one parameter (``among``), so a statement's text never depends on a length.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Text,
    Update,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from publisher.core.vocab import OutboxStatus
from publisher.store.db import UTCDateTime
from publisher.store.schema import contents, outbox, suppressions


def among(conn: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` as one parameter. An IN list of hundreds of parameters is a new
    statement text each time, which SQLAlchemy coerces, renders and the driver parses again
    (on PostgreSQL a third of the drain's database time, on SQLite a fifth). PostgreSQL: one
    array (``= ANY(%s)``); SQLite: one JSON array read by ``json_each``."""
    pg = conn.dialect.name == "postgresql"
    return among_param(pg, column, None, list_param(pg, values))


def among_param(pg: bool, column: Any, name: str | None, value: Any = None) -> ColumnElement[bool]:
    """``among`` with the list as the bound parameter ``name`` (see ``list_param``)."""
    if pg:
        return column == any_(bindparam(name, value, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    listed = func.json_each(bindparam(name, value, type_=Text))
    return column.in_(select(literal_column("value")).select_from(listed).scalar_subquery())  # type: ignore[no-any-return]


def list_param(pg: bool, values: Sequence[Any]) -> Any:
    """A list as ``among_param`` binds it: PostgreSQL an array, SQLite a JSON text."""
    return list(values) if pg else json.dumps(list(values))


CLAIMED_COLUMNS = (
    outbox.c.id,
    outbox.c.kind,
    outbox.c.recipient,
    outbox.c.content_id,
    outbox.c.substitutions,
    outbox.c.message_id,
    outbox.c.attempts,
    outbox.c.expires_at,
)


def of_prefix(prefix: str) -> ColumnElement[bool]:
    """Rows whose dedupe key starts with ``prefix`` (a digest run's, an alert's), found
    through their contents: a run stores its variants under keys that start with the same
    prefix, and the content index finds their rows. A LIKE on the dedupe key alone read the
    whole outbox (SQLite's LIKE ignores case, so no index serves it), once per run listed.
    The dedupe key still decides."""
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stored = select(contents.c.id).where(contents.c.key.like(pattern, escape="\\"))
    return and_(
        outbox.c.content_id.in_(stored.scalar_subquery()),
        outbox.c.dedupe_key.like(pattern, escape="\\"),
    )


# The statuses that end a message's life, in the order of the ended rows' index predicate
# (schema.ENDED_WHERE, migration 0019).
FINAL: tuple[OutboxStatus, ...] = ("sent", "failed", "suppressed", "expired")
LIVE: tuple[OutboxStatus, ...] = ("queued", "sending", "deferred")


def is_status(status: OutboxStatus) -> ColumnElement[bool]:
    """``status = '<status>'`` written inline: a partial index (migrations 0018, 0019) serves
    a query only when the planner can see the predicate holds, and a generic plan (PostgreSQL
    prepares a statement after its fifth run) cannot see a bound value.
    An ended status also carries the ended rows' predicate (``is_ended``), which SQLite does
    not infer from the equality."""
    equal = outbox.c.status == literal_column(f"'{status}'")
    return and_(is_ended(), equal) if status in FINAL else equal


def is_ended() -> ColumnElement[bool]:
    """The ended rows' index predicate, term for term (``status IN ('sent', …)``)."""
    return outbox.c.status.in_([literal_column(f"'{s}'") for s in FINAL])


def due_ranges(owner: Any, now: Any) -> list[tuple[ColumnElement[bool], Any]]:
    """(condition, order) of each claim range: lapsed leases of other drains (by lease end),
    then due deferred rows, then due queued rows (by due time), each on its partial index."""
    not_mine = or_(outbox.c.lease_owner.is_(None), outbox.c.lease_owner != owner)
    return [
        (and_(is_status("sending"), outbox.c.lease_until < now, not_mine), outbox.c.lease_until),
        (and_(is_status("deferred"), outbox.c.next_attempt_at <= now), outbox.c.next_attempt_at),
        (and_(is_status("queued"), outbox.c.next_attempt_at <= now), outbox.c.next_attempt_at),
    ]


@functools.cache
def claim_statements(pg: bool) -> tuple[Update, ...]:
    """The claim's statements, one per range (``due_ranges``), for ``outbox.claim``."""
    now = bindparam("now", type_=UTCDateTime())
    owner = bindparam("owner", type_=String())
    values = {
        "status": "sending",
        "lease_owner": owner,
        "lease_until": bindparam("lease_until", type_=UTCDateTime()),
        "lease_host": bindparam("host", type_=String()),
        "lease_process": bindparam("process", type_=String()),
        "attempts": outbox.c.attempts + 1,
        "updated_at": now,
    }
    statements = []
    for cond, order in due_ranges(owner, now):
        due = select(outbox.c.id).where(cond).order_by(order).limit(bindparam("limit"))
        chosen: ColumnElement[bool] = outbox.c.id.in_(due.scalar_subquery())
        if pg:
            # ``id = ANY(ARRAY(SELECT …))``: the ids are taken (and locked) first, once, then
            # each row is found by its primary key. As ``IN (SELECT …)`` the planner may
            # join instead, and on an outbox of tens of thousands of rows chose to read all
            # of it for a hash join: 11–17 ms a claim of 500 against 8–9 (PostgreSQL 15).
            due = due.with_for_update(skip_locked=True)
            chosen = outbox.c.id == any_(func.array(due.scalar_subquery()))
        statements.append(update(outbox).where(chosen).values(**values).returning(*CLAIMED_COLUMNS))
    return tuple(statements)


@functools.cache
def suppressions_statement(pg: bool) -> Select[tuple[str, str, str]]:
    """``suppressions_for``'s statement."""
    cols = (suppressions.c.email, suppressions.c.scope, suppressions.c.reason)
    return select(*cols).where(among_param(pg, suppressions.c.email, "emails"))


@functools.cache
def final_statement(pg: bool, status: OutboxStatus, reply: bool, owner: bool) -> Update:
    """``set_final``'s statement, one per shape."""
    now = bindparam("now", type_=UTCDateTime())
    cond: ColumnElement[bool] = among_param(pg, outbox.c.id, "ids")
    if owner:
        cond = and_(cond, outbox.c.lease_owner == bindparam("owner", type_=String()))
    values: dict[str, Any] = {
        "status": status,
        "lease_until": None,
        "lease_owner": None,
        "lease_host": None,
        "lease_process": None,
        "updated_at": now,
    }
    if reply:
        values["last_reply"] = bindparam("reply", type_=Text())
    if status == "sent":
        values["sent_at"] = now
    return update(outbox).where(cond).values(**values)
