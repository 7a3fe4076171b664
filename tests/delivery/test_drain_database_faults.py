"""The drain outlives its database going away (a PostgreSQL shutdown and start mid-run):
nothing is lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from publisher.core.clock import SystemClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.outboxkit import fill, statuses
from tests.pgserver import PgServer, pg_bin
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


async def _until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.01)


def _drain(engine: Engine, url: str) -> Drain:
    mailer = Mailer(url, pool_size=4, connect_timeout=5, command_timeout=5, data_timeout=10)
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=4, mark_batch=10, lease=timedelta(minutes=5)
    )
    return Drain(engine, mailer, SystemClock(), config=config)


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A server of this test's own: it is shut down mid-test."""
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql; .ci/run does)")
    server = PgServer().start()
    yield server
    # A failed test may leave it halted: pg_ctl stop then fails, and its files still go.
    with contextlib.suppress(subprocess.CalledProcessError):
        server.stop()


@pytest.mark.postgres
async def test_postgresql_shutdown_mid_drain_waits_and_finishes(
    own_pg: PgServer, smtpd: SmtpServer
) -> None:
    engine = make_engine(own_pg.new_database())
    upgrade(engine)
    n = 400
    fill(engine, SystemClock(), n)
    smtpd.behaviour.final_delay = 0.005
    drain = _drain(engine, smtpd.url)
    run = asyncio.create_task(drain.run(until_empty=True))
    await _until(lambda: len(smtpd.record.messages) >= 40)
    await asyncio.to_thread(own_pg.halt)
    await _until(lambda: drain.report.db_errors > 0 or run.done())
    assert not run.done(), "the drain ended while the database was down"
    await asyncio.to_thread(own_pg.resume)
    report = await asyncio.wait_for(run, 120)
    assert statuses(engine) == {"sent": n}
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(n)}
    assert report.sent == n and report.db_errors > 0
    engine.dispose()


@pytest.mark.postgres
async def test_stop_while_the_database_is_down_returns_and_loses_nothing(
    own_pg: PgServer, smtpd: SmtpServer
) -> None:
    """A stop cannot wait for the database forever: it gives up after the grace period and
    leaves the unrecorded rows `sending` under their lease (sent again once it runs out)."""
    engine = make_engine(own_pg.new_database())
    upgrade(engine)
    n = 300
    fill(engine, SystemClock(), n)
    smtpd.behaviour.final_delay = 0.005
    mailer = Mailer(smtpd.url, pool_size=4, connect_timeout=5, command_timeout=5, data_timeout=10)
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=4, mark_batch=10, grace=timedelta(seconds=1)
    )
    drain = Drain(engine, mailer, SystemClock(), config=config)
    run = asyncio.create_task(drain.run(until_empty=True))
    await _until(lambda: len(smtpd.record.messages) >= 40)
    await asyncio.to_thread(own_pg.halt)
    await _until(lambda: drain.report.db_errors > 0 or run.done())
    drain.stop()
    await asyncio.wait_for(run, 30)  # returns: neither hangs nor raises
    await asyncio.to_thread(own_pg.resume)
    counts = statuses(engine)
    assert set(counts) <= {"sent", "sending", "queued"} and sum(counts.values()) == n
    received = smtpd.record.recipients()
    assert all(c == 1 for c in received.values())
    assert counts.get("sent", 0) <= len(received)  # marked sent ⇒ the relay has it
    engine.dispose()
