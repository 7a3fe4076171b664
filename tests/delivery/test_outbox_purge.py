"""`outbox purge` deletes in batches, each its own commit: drains keep claiming meanwhile."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, update
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.clock import FixedClock
from publisher.messages import outboxstatus
from publisher.messages.enqueue import claim
from publisher.store import outboxpurge as store_purge
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from publisher.store.schema import outbox
from tests.outboxkit import fill, statuses


def _finish(engine: Engine, clock: FixedClock, sent: int, failed: int) -> None:
    """The first ``sent`` rows sent and the next ``failed`` failed, a week ago."""
    old = clock.now() - timedelta(days=7)
    with engine.begin() as conn:
        conn.execute(
            update(outbox).where(outbox.c.id <= sent).values(status="sent", updated_at=old)
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.id > sent, outbox.c.id <= sent + failed)
            .values(status="failed", updated_at=old)
        )


def _impatient(url: str) -> Engine:
    """An engine that gives up at once on a locked SQLite database (no busy wait)."""
    eng = make_engine(url)
    if eng.dialect.name == "sqlite":

        @event.listens_for(eng, "connect")
        def no_wait(dbapi_conn: object, _record: object) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout=0")  # type: ignore[attr-defined]

    return eng


def test_purge_commits_each_batch_so_a_claim_gets_through(
    any_engine: Engine, clock: FixedClock
) -> None:
    fill(any_engine, clock, 260)
    _finish(any_engine, clock, sent=230, failed=10)  # 20 rows stay queued
    other = _impatient(any_engine.url.render_as_string(hide_password=False))
    claimed: list[int] = []
    seen: list[int] = []

    def between_batches(done: int) -> None:
        seen.append(done)
        # Another drain claims while the purge is under way: it would fail at once
        # ("database is locked") if the purge still held its write transaction.
        with other.begin() as conn:
            items, _ = claim(conn, owner=f"other{done}", now=clock.now(),
                             lease=timedelta(minutes=5), limit=2)  # fmt: skip
        claimed.extend(i.id for i in items)

    rows, _contents = outboxstatus.purge(
        any_engine, before=clock.now() - timedelta(days=1), batch=100, on_batch=between_batches
    )
    other.dispose()
    assert rows == 240
    assert seen == [100, 200, 240]
    assert len(claimed) == 6  # a claim between every two batches, each one served
    assert statuses(any_engine) == {"queued": 14, "sending": 6}


def test_purge_keeps_recent_and_live_rows(any_engine: Engine, clock: FixedClock) -> None:
    fill(any_engine, clock, 30)
    _finish(any_engine, clock, sent=10, failed=0)
    with any_engine.begin() as conn:  # sent today: kept
        conn.execute(
            update(outbox).where(outbox.c.id > 25).values(status="sent", updated_at=clock.now())
        )
    rows, _ = outboxstatus.purge(any_engine, before=clock.now() - timedelta(days=1), batch=3)
    assert rows == 10
    assert statuses(any_engine) == {"queued": 15, "sent": 5}


def test_purge_walks_the_rows_there_are_not_the_ids_ever_used(
    any_engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site's ids climb by its list size every day: a purge that stepped through the ids
    from 0 would commit thousands of empty batches a night, more every year (review)."""
    fill(any_engine, clock, 5)
    with any_engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == 5).values(id=20_000_000))
    _finish(any_engine, clock, sent=3, failed=0)
    with any_engine.begin() as conn:  # the high row finished too
        conn.execute(update(outbox).where(outbox.c.id == 20_000_000).values(
            status="sent", updated_at=clock.now() - timedelta(days=7)))  # fmt: skip
    batches: list[tuple[int, int]] = []
    real = store_purge.purge_batch

    def counted(conn: Connection, *, before: datetime, after_id: int, span: int) -> int:
        batches.append((after_id, span))
        return real(conn, before=before, after_id=after_id, span=span)

    monkeypatch.setattr(store_purge, "purge_batch", counted)
    rows, _ = outboxstatus.purge(any_engine, before=clock.now() - timedelta(days=1), batch=2)
    assert rows == 4 and len(batches) == 3  # five rows, two a batch: not 10 million batches
    assert statuses(any_engine) == {"queued": 1}


def test_purge_of_an_age_before_the_year_1_is_a_clear_error(tmp_path: Path) -> None:
    env = {"PUBLISHER_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    result = CliRunner().invoke(app, ["outbox", "purge", "--older-than", "99999999d"], env=env)
    assert result.exit_code == 2 and "--older-than" in result.output, result.output


def _purge_steps(engine: Engine, clock: FixedClock, *, finished: int, span: int) -> int:
    """SQLite's virtual machine steps (in thousands) to purge the first ``span`` ids of an
    outbox holding ``finished`` finished rows: work counted, not timed."""
    fill(engine, clock, finished)
    _finish(engine, clock, sent=finished, failed=0)
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        raw.set_progress_handler(tick, 1000)  # type: ignore[union-attr]
        deleted = store_purge.purge_batch(conn, before=clock.now(), after_id=0, span=span)
        raw.set_progress_handler(None, 0)  # type: ignore[union-attr]
    assert deleted == span
    return steps


def test_a_purge_batch_costs_what_it_deletes_not_what_the_table_holds(
    tmp_path: Path, clock: FixedClock
) -> None:
    # Before the fix, SQLite's planner read every finished row's entry in the status index
    # for each batch: a million-row purge grew with the square of the rows (34 s, now 15 s).
    small = make_engine(f"sqlite:///{tmp_path / 'small.db'}")
    large = make_engine(f"sqlite:///{tmp_path / 'large.db'}")
    for eng in (small, large):
        upgrade(eng)
    cheap = _purge_steps(small, clock, finished=200, span=100)
    dear = _purge_steps(large, clock, finished=4000, span=100)
    assert dear <= cheap * 1.5 + 2, (cheap, dear)
