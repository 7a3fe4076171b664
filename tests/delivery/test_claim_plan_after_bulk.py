"""After a bulk enqueue the outbox's statistics are refreshed (messages/enqueue.after_bulk), so
that on PostgreSQL each claim of the send walks its partial index to the LIMIT. Statistics
taken while the outbox held no queued rows made the planner read and sort the whole queue
for every 500 rows claimed (a bitmap scan, then a sort): work growing with the queue,
measured at 12 index entries read per row claimed against 2 (bench/scaledrain.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.messages import enqueue
from publisher.store import outbox as store_outbox
from publisher.store import outboxsql
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from publisher.store.schema import outbox
from tests.digestkit import NOW, add_subscriber, load_store, schedules
from tests.outboxkit import fill

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    upgrade(eng)
    with eng.begin() as conn:  # the statistics of an outbox with nothing queued
        conn.execute(text("ANALYZE outbox"))
    yield eng
    eng.dispose()


def claim_plan(engine: Engine, clock: FixedClock) -> str:
    """PostgreSQL's plan for the claim's queued range, as the drain runs it."""
    cond, order = outboxsql.due_ranges("drain", clock.now())[2]
    due = select(outbox.c.id).where(cond).order_by(order).limit(500)
    sql = str(due.with_for_update(skip_locked=True).compile(
        engine, compile_kwargs={"literal_binds": True}))  # fmt: skip
    with engine.connect() as conn:
        return "\n".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def planned_rows(engine: Engine) -> float:
    """What the planner believes the outbox holds (pg_class.reltuples, set by ANALYZE)."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'outbox'"))
        return float(found.scalar_one())


def test_after_a_bulk_enqueue_the_claim_walks_its_index(
    pg_engine: Engine, clock: FixedClock
) -> None:
    # 30,000 rows: from about there, PostgreSQL 15 sorts the whole queue on stale statistics.
    fill(pg_engine, clock, 30_000)
    enqueue.after_bulk(pg_engine, 30_000)
    plan = claim_plan(pg_engine, clock)
    assert "Index Scan using ix_outbox_queued_due" in plan, plan
    assert "Sort" not in plan and "Bitmap" not in plan, plan
    assert planned_rows(pg_engine) == 30_000


def test_a_small_enqueue_leaves_the_statistics_alone(
    pg_engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enqueue, "BULK_ROWS", 1000)
    fill(pg_engine, clock, 30)
    enqueue.after_bulk(pg_engine, 30)  # a sign-up's confirmation, a share: no ANALYZE each
    assert planned_rows(pg_engine) == 0


def test_a_digest_run_refreshes_them_once_its_rows_are_committed(
    pg_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enqueue, "BULK_ROWS", 10)
    load_store(pg_engine)
    for i in range(14):
        add_subscriber(pg_engine, f"reader{i:02d}@example.kr")
    result = pipeline.run_digest(pg_engine, settings, schedules(), "morning", now=NOW)
    assert result.enqueued == 14
    assert planned_rows(pg_engine) == 14


def test_a_vacuum_in_the_way_is_a_warning_not_a_wait(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_outbox, "ANALYZE_LOCK_WAIT_MS", 100)
    with pg_engine.connect() as other, other.begin():
        # The lock a VACUUM (or another ANALYZE) of the table holds.
        other.execute(text("LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE"))
        enqueue.after_bulk(pg_engine, enqueue.BULK_ROWS)
    assert "outbox statistics not refreshed" in caplog.text
    assert "lock timeout" in caplog.text
