"""Migration 0021: our Message-IDs name their outbox row, so a report that quotes one is a
primary-key lookup; a row stored before 0021 is found through a partial index of those
alone; a Message-ID of any other shape costs no query (each one read the whole outbox)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, text

from publisher.core.clock import FixedClock
from publisher.inbound.classify import Verdict
from publisher.inbound.match import Base, find
from publisher.messages import enqueue
from publisher.store import inbound
from publisher.store.schema import PRE_0021_MESSAGE_ID
from tests.outboxkit import fill, migrate_to, outbox_indexes

OLD_INDEX = "ix_outbox_message_id_old"
PRIMARY_KEY = ("USING INTEGER PRIMARY KEY (rowid=?)", "Index Scan using outbox_pkey")
DOMAIN = "news.example.kr"


def _claim(engine: Engine, clock: FixedClock) -> dict[int, str]:
    """Lease every due row: {row id: the Message-ID its copy is sent with}."""
    with engine.begin() as c:
        items, _ = enqueue.claim(
            c, owner="me", now=clock.now(), lease=timedelta(minutes=5), limit=100
        )
    return {i.id: i.message_id for i in items}


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((stmt, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def _plan(engine: Engine, stmt: str, params: Any) -> str:
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            rows = c.exec_driver_sql(f"EXPLAIN QUERY PLAN {stmt}", params)
            return " / ".join(str(r[-1]) for r in rows)
        c.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: force the choice
        return " / ".join(str(r[0]) for r in c.exec_driver_sql(f"EXPLAIN {stmt}", params))


def _lookup(engine: Engine, mid: str) -> tuple[int | None, list[str]]:
    """The row id a Message-ID finds, and the plan of each query that found it."""
    with _statements(engine) as seen, engine.connect() as c:
        row = inbound.outbox_by_message_id(c, mid)
    return (row.id if row else None), [_plan(engine, s, p) for s, p in seen if "outbox" in s]


def test_the_copy_carries_its_row_id_and_a_report_quoting_it_finds_that_row(
    any_engine: Engine, clock: FixedClock
) -> None:
    fill(any_engine, clock, 3)
    sent = _claim(any_engine, clock)
    assert len(set(sent.values())) == 3
    for row_id, mid in sent.items():
        assert mid.startswith("<") and mid.endswith(f".{row_id}@{DOMAIN}>"), mid
        found, plans = _lookup(any_engine, mid)
        assert found == row_id
        # The primary key itself: any other index would pass a "no scan" check, yet read
        # the whole outbox.
        assert len(plans) == 1 and any(pk in plans[0] for pk in PRIMARY_KEY), plans
    a, b, _ = sorted(sent)
    # Another row's id under this row's hash, or the value as stored (id 0): nothing.
    assert _lookup(any_engine, sent[a].replace(f".{a}@", f".{b}@"))[0] is None
    assert _lookup(any_engine, sent[a].replace(f".{a}@", ".0@"))[0] is None
    last = sent[a].replace(f".{a}@", f".{2**31 - 1}@")  # the largest id outbox.id can hold
    assert _lookup(any_engine, last)[0] is None
    # A retry's copy carries the same Message-ID.
    clock.advance(timedelta(minutes=10))
    with any_engine.begin() as c:
        c.exec_driver_sql("UPDATE outbox SET status = 'deferred', lease_until = NULL")
    assert _claim(any_engine, clock) == sent


def test_a_report_naming_only_the_message_id_is_matched_by_it(
    any_engine: Engine, clock: FixedClock
) -> None:
    fill(any_engine, clock, 2)
    sent = _claim(any_engine, clock)
    row_id = max(sent)
    verdict = Verdict("complaint", message_ids=(sent[row_id],))
    with any_engine.connect() as c:
        match = find(c, verdict, Base.of("bounces@news.example.kr", "s" * 32))
    assert match.how == "message-id" and match.row is not None and match.row.id == row_id


def test_a_message_id_of_another_shape_runs_no_query(any_engine: Engine) -> None:
    hexes = "0123456789abcdef" * 2
    foreign = [
        "<nope>", "<CAF=x1@mail.gmail.com>", f"<{hexes}.0@{DOMAIN}>", f"<{hexes}.012@{DOMAIN}>",
        f"<{hexes.upper()}@{DOMAIN}>", f"<{hexes[:31]}@{DOMAIN}>", f"<{hexes}.1@a@b>",
        f"<{hexes}.{'9' * 19}@{DOMAIN}>", "<" + "a" * 100_000 + ">", "",
        # Past outbox.id's 32 bits, and a NUL: PostgreSQL refuses both as parameters, and an
        # error here stopped the whole mailbox pass, genuine bounces with it.
        f"<{hexes}.2147483648@{DOMAIN}>", f"<{hexes}.3000000000@{DOMAIN}>",
        f"<{hexes}.5@news\x00.example.kr>", f"<{hexes}@news\x00.example.kr>",
    ]  # fmt: skip
    with _statements(any_engine) as seen, any_engine.connect() as c:
        for mid in foreign:
            assert inbound.outbox_by_message_id(c, mid) is None, mid
    assert [s for s, _ in seen if "outbox" in s] == []


def _old_form(dedupe_key: str) -> str:
    """The Message-ID a row stored before 0021 holds (and was sent with)."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{DOMAIN}>"


def test_a_row_stored_before_0021_is_found_through_an_index_of_those_alone(
    any_engine: Engine, clock: FixedClock
) -> None:
    migrate_to(any_engine, "downgrade", "0020")
    assert OLD_INDEX not in outbox_indexes(any_engine)
    fill(any_engine, clock, 2, kind="confirm")
    with any_engine.begin() as c:  # as the code before 0021 stored them
        for row_id, key in c.exec_driver_sql("SELECT id, dedupe_key FROM outbox").all():
            c.execute(
                text("UPDATE outbox SET message_id = :m WHERE id = :i"),
                {"m": _old_form(key), "i": row_id},
            )
    migrate_to(any_engine, "upgrade", "head")
    assert OLD_INDEX in outbox_indexes(any_engine)
    fill(any_engine, clock, 2)  # stored since 0021: not in the index
    with any_engine.connect() as c:
        where = f"SELECT count(*) FROM outbox WHERE {PRE_0021_MESSAGE_ID}"
        assert c.execute(text(where)).scalar() == 2
    sent = _claim(any_engine, clock)
    old = {i: m for i, m in sent.items() if "." not in m.partition("@")[0]}
    assert len(old) == 2 and len(sent) == 4  # the old rows go out as they were stored
    for row_id, mid in old.items():
        found, plans = _lookup(any_engine, mid)
        assert found == row_id
        assert len(plans) == 1 and OLD_INDEX in plans[0], plans
    migrate_to(any_engine, "downgrade", "0020")
    assert OLD_INDEX not in outbox_indexes(any_engine)
    migrate_to(any_engine, "upgrade", "head")
