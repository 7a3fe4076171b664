"""After a bulk enqueue the outbox's statistics are refreshed (messages/bulk.after_bulk), so
that on PostgreSQL each claim of the send walks its partial index to the LIMIT. On an outbox
with no statistics yet (a new install, or one analyzed while empty) the planner read and
sorted the whole queue for every 500 rows claimed (a bitmap scan, then a sort): work growing
with the queue, measured at 12 index entries read per row claimed against 2
(bench/scaledrain.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.messages import bulk, outboxstatus
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
    with eng.begin() as conn:  # the statistics of an empty outbox, as a new install has
        conn.execute(text("ANALYZE outbox"))
    yield eng
    eng.dispose()


def claim_plan(engine: Engine, clock: FixedClock) -> str:
    """PostgreSQL's plan for the statement the drain runs to claim queued rows."""
    stmt = outboxsql.claim_statements(True)[2]  # the queued range (due_ranges' third)
    now = clock.now()
    with engine.connect() as conn:
        sql = stmt.compile(dialect=conn.dialect)
        params = sql.construct_params({"owner": "drain", "now": now, "lease_until": now,
                                       "host": None, "process": None, "limit": 500})  # fmt: skip
        found = conn.exec_driver_sql(f"EXPLAIN {sql}", params)
        return "\n".join(str(r[0]) for r in found)


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
    bulk.after_bulk(pg_engine, 30_000)
    plan = claim_plan(pg_engine, clock)
    assert "Index Scan using ix_outbox_queued_due" in plan, plan
    assert "Index Scan using outbox_pkey" in plan, plan  # each claimed row by its id
    for whole_queue in ("Sort", "Bitmap", "Seq Scan", "Hash"):  # no read of all of it
        assert whole_queue not in plan, plan
    assert planned_rows(pg_engine) == 30_000


def test_a_small_enqueue_leaves_the_statistics_alone(
    pg_engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BULK_ROWS", 1000)
    fill(pg_engine, clock, 30)
    bulk.after_bulk(pg_engine, 30)  # a sign-up's confirmation, a share: no ANALYZE each
    assert planned_rows(pg_engine) == 0


def test_a_digest_run_refreshes_them_once_its_rows_are_committed(
    pg_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BULK_ROWS", 10)
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
        bulk.after_bulk(pg_engine, bulk.BULK_ROWS)
    assert "outbox statistics not refreshed" in caplog.text
    assert "lock timeout" in caplog.text


def test_a_user_who_does_not_own_the_table_is_told_so(
    pg_engine: Engine, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    role = f"mailer_{uuid.uuid4().hex[:8]}"  # roles are the whole server's, shared by tests
    with pg_engine.begin() as conn:  # what a DBA grants a mailer that does not own the schema
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {role}"))
    mailer = make_engine(pg_url.replace("postgres@", f"{role}@", 1))
    try:
        bulk.after_bulk(mailer, bulk.BULK_ROWS)
    finally:
        mailer.dispose()
    assert "outbox statistics not refreshed" in caplog.text
    assert "owns neither the outbox table nor the database" in caplog.text
    assert planned_rows(pg_engine) == 0  # as it was: nothing was analyzed


def test_a_retry_of_failed_rows_refreshes_them_too(
    pg_engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BULK_ROWS", 10)
    fill(pg_engine, clock, 20)
    with pg_engine.begin() as conn:
        conn.execute(outbox.update().values(status="failed"))
        conn.execute(text("ANALYZE outbox"))  # the statistics of a send that failed
    later = clock.now()
    n = outboxstatus.requeue_failed(pg_engine, kind=None, now=later,
                                    expires_at={"digest": later + timedelta(hours=1)})  # fmt: skip
    assert n == 20
    with pg_engine.connect() as conn:
        queued = conn.execute(text(
            "SELECT most_common_vals::text FROM pg_stats "
            "WHERE tablename = 'outbox' AND attname = 'status'")).scalar_one()  # fmt: skip
    assert "queued" in queued


def test_the_database_s_owner_may_refresh_them(
    pg_engine: Engine, pg_url: str, clock: FixedClock
) -> None:
    role = f"dba_{uuid.uuid4().hex[:8]}"  # owns the database, not the table
    database = pg_url.rsplit("/", 1)[1]
    fill(pg_engine, clock, 30)
    with pg_engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f'ALTER DATABASE "{database}" OWNER TO {role}'))
    owner = make_engine(pg_url.replace("postgres@", f"{role}@", 1))
    try:
        assert store_outbox.refresh_planner_stats(owner)
    finally:
        owner.dispose()
    assert planned_rows(pg_engine) == 30  # analyzed indeed (a refusal is only a notice)
