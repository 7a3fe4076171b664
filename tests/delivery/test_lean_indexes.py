"""Migration 0019: no outbox index that every claim and mark rewrites, and every query on a
status reads its status's partial index, never the whole outbox. Migration 0020: lookups by
address read the index on ``lower(recipient)``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from publisher.core.clock import FixedClock
from publisher.store import consoleviews, dailycounts, inbound, stats
from publisher.store import outbox as store_outbox
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.outboxkit import fill, migrate_to, outbox_indexes, statuses

GONE = {"ix_outbox_status_next", "ix_outbox_updated_at"}
PARTIAL = ("ix_outbox_queued_due", "ix_outbox_deferred_due", "ix_outbox_leases", "ix_outbox_ended")
BY_ADDRESS = "ix_outbox_recipient_lower"


def test_the_rewritten_indexes_are_gone_and_come_back_on_downgrade(any_engine: Engine) -> None:
    assert "ix_outbox_ended" in outbox_indexes(any_engine)
    assert not GONE & outbox_indexes(any_engine)
    migrate_to(any_engine, "downgrade", "0018")
    assert outbox_indexes(any_engine) >= GONE
    assert "ix_outbox_ended" not in outbox_indexes(any_engine)
    migrate_to(any_engine, "upgrade", "head")
    assert "ix_outbox_ended" in outbox_indexes(any_engine)
    assert not GONE & outbox_indexes(any_engine)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _status_queries(engine: Engine, clock: FixedClock) -> list[tuple[str, Any]]:
    """Every statement on the outbox that the status readers and the operator's commands run."""
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((stmt, params))

    now = clock.now()
    event.listen(engine, "before_cursor_execute", grab)
    with engine.begin() as c:
        store_outbox.requeue_failed(c, kind=None, now=now, expires_at={"digest": now})
        store_outbox.next_retry(c)
        store_outbox.top_deferral_reasons(c)
        store_outbox.lease_holders(c, host="h")
        store_outbox.expire_leases(c, ["gone"], now=now)
        store_outbox.oldest_queued(c)
        store_outbox.oldest_queued(c, due_by=now)
        store_outbox.cancel_queued(c, ["a@b.kr"], kinds=["digest"], now=now, reason="x")
        consoleviews.waiting(c)
        consoleviews.outbox_rows(c, status="failed", kind=None, domain=None, limit=5)
        dailycounts.rollup(c, now=now, tz=UTC)
        stats.held_queued(c, now=now)
        stats.outbox_depth(c)  # every /metrics scrape
        consoleviews.messages_to(c, ["R1@Example.kr"], limit=5)  # the console's reader page
        inbound.last_sent_to(c, ["R1@Example.kr"])  # an inbound report matched by address
    event.remove(engine, "before_cursor_execute", grab)
    return [(s, p) for s, p in seen if "outbox" in s]


def test_queries_on_a_status_read_its_partial_index(
    sqlite_store: Engine, clock: FixedClock
) -> None:
    fill(sqlite_store, clock, 30)
    with sqlite_store.begin() as c:  # one failed row, so that requeue-failed updates it
        now = clock.now()
        ids = [r.id for r in store_outbox.claim(
            c, owner="me", now=now, lease_until=now + timedelta(minutes=5), limit=1
        )]  # fmt: skip
        store_outbox.set_final(c, ids, status="failed", now=now, reply="550 no")
    queries = _status_queries(sqlite_store, clock)
    assert len(queries) >= 15
    with sqlite_store.connect() as c:
        for stmt, params in queries:
            plan = " / ".join(
                str(r[-1]) for r in c.exec_driver_sql(f"EXPLAIN QUERY PLAN {stmt}", params)
            )
            assert "SCAN outbox" not in plan, (stmt, plan)
            assert any(name in plan for name in (*PARTIAL, BY_ADDRESS, "PRIMARY KEY")), plan
            if "recipient" in stmt.split("WHERE")[-1]:
                assert BY_ADDRESS in plan, (stmt, plan)
    assert statuses(sqlite_store) == {"queued": 30}  # and requeue-failed did its work


def test_a_status_from_a_request_is_never_sql(any_engine: Engine, clock: FixedClock) -> None:
    fill(any_engine, clock, 3)
    with any_engine.connect() as c:
        for status in ("queued", "sent", "nonsense", "queued' OR '1'='1"):
            rows = consoleviews.outbox_rows(c, status=status, kind=None, domain=None, limit=10)
            assert len(rows) == (3 if status == "queued" else 0)


def _plan(engine: Engine, query: Any) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return " / ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        conn.execute(text("SET enable_seqscan = off"))  # a tiny table: force the choice
        return " / ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def test_the_rollup_reads_each_ended_status_by_time(any_engine: Engine, clock: FixedClock) -> None:
    """One range per ended status: a single ``IN`` query let PostgreSQL drop the status term
    (implied by the index's predicate) and scan the outbox instead of a time range."""
    fill(any_engine, clock, 30)
    since = clock.now() - timedelta(days=1)
    with any_engine.connect() as conn:
        queries = dailycounts.ended_queries(conn, since)
    assert len(queries) == 4
    for query in queries:
        plan = _plan(any_engine, query)
        assert "ix_outbox_ended" in plan, plan
        if any_engine.dialect.name == "sqlite":
            assert "updated_at>?" in plan, plan
        else:
            # A range of the index: the status leads the condition, then the time.
            cond = [p for p in plan.split(" / ") if "Index Cond" in p]
            assert cond and "status" in cond[0] and "updated_at >=" in cond[0], plan


def test_0020_swaps_the_recipient_index_and_back(any_engine: Engine, clock: FixedClock) -> None:
    assert BY_ADDRESS in outbox_indexes(any_engine)
    assert "ix_outbox_recipient" not in outbox_indexes(any_engine)
    # Neither SQLAlchemy nor Alembic compares an expression index on SQLite: read its SQL.
    sql = (
        f"SELECT sql FROM sqlite_master WHERE name = '{BY_ADDRESS}'"
        if any_engine.dialect.name == "sqlite"
        else f"SELECT indexdef FROM pg_indexes WHERE indexname = '{BY_ADDRESS}'"
    )
    with any_engine.connect() as c:
        made = str(c.exec_driver_sql(sql).scalar())
    # SQLite keeps the statement as written; PostgreSQL writes lower((recipient)::text).
    assert "lower(recipient)" in made or "lower((recipient)::text)" in made, made
    fill(any_engine, clock, 3)
    with any_engine.connect() as c:  # the console finds a reader's mail whatever the case
        assert len(consoleviews.messages_to(c, ["USER1@EXAMPLE.KR"], limit=5)) == 1
    migrate_to(any_engine, "downgrade", "0019")
    assert "ix_outbox_recipient" in outbox_indexes(any_engine)
    assert BY_ADDRESS not in outbox_indexes(any_engine)
    migrate_to(any_engine, "upgrade", "head")
    assert BY_ADDRESS in outbox_indexes(any_engine)
