"""Migration 0018: the claim's ranges each have a partial index, and the claim uses them."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text

from publisher.core.clock import FixedClock
from publisher.store import outbox as store_outbox
from publisher.store import outboxsql
from publisher.store.migrate import current_revision
from publisher.store.schema import metadata, outbox
from tests.outboxkit import fill, migrate_to, outbox_indexes, statuses

PARTIAL = {"ix_outbox_queued_due", "ix_outbox_deferred_due", "ix_outbox_leases"}


def test_migration_adds_the_partial_indexes_and_matches_the_schema(any_engine: Engine) -> None:
    assert current_revision(any_engine) is not None
    assert outbox_indexes(any_engine) >= PARTIAL
    with any_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert not [d for d in diff if "outbox" in repr(d)]


def test_claim_reads_its_ranges_on_the_partial_indexes(
    any_engine: Engine, clock: FixedClock
) -> None:
    fill(any_engine, clock, 30)
    now = clock.now()
    plans: list[str] = []
    for cond, order in outboxsql.due_ranges("me", now):
        q = select(outbox.c.id).where(cond).order_by(order).limit(10)
        sql = str(q.compile(any_engine, compile_kwargs={"literal_binds": True}))
        with any_engine.connect() as conn:
            if any_engine.dialect.name == "sqlite":
                found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
                plans.append(" ".join(str(r[-1]) for r in found))
            else:
                conn.execute(text("SET enable_seqscan = off"))  # a tiny table: force the choice
                plans.append(" ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}")))
    assert "ix_outbox_leases" in plans[0]
    assert "ix_outbox_deferred_due" in plans[1]
    assert "ix_outbox_queued_due" in plans[2]
    # And a claim still takes due rows, in order.
    with any_engine.begin() as conn:
        claimed = store_outbox.claim(
            conn, owner="me", now=now, lease_until=now + timedelta(minutes=5), limit=12
        )
    assert [r.id for r in claimed] == list(range(1, 13))
    assert statuses(any_engine) == {"sending": 12, "queued": 18}


def test_downgrade_drops_them_and_upgrade_brings_them_back(any_engine: Engine) -> None:
    migrate_to(any_engine, "downgrade", "0017")
    assert not PARTIAL & outbox_indexes(any_engine)
    migrate_to(any_engine, "upgrade", "head")
    assert outbox_indexes(any_engine) >= PARTIAL
