"""`pg_ctl restart -m fast` under a running daemon: the schedules and the drain.

Two instances on one PostgreSQL: afterwards exactly one fires schedules.

The restart ends every session, so the leader's advisory lock is gone while its scheduler may
still be running; the other instance can take the lock at its next poll. A leader that cannot
confirm its lock must pause its schedules first and then compete again on a fresh connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.schedules import Schedules
from publisher.daemon.jobtable import JobTable
from publisher.daemon.process import Daemon, Parts
from publisher.daemon.scheduler import JobSpec, interval_trigger
from publisher.daemon.supervise import Backoff
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.outboxkit import fill, statuses
from tests.pgserver import PgServer, pg_bin
from tests.smtpserver import Behaviour, SmtpServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PgServer]:
    """A server of this module's own: restarting it must not disturb other tests."""
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries not installed")
    server = PgServer().start()
    yield server
    server.stop()


def restart(pg: PgServer) -> None:
    # -l: without a log file the new server would keep our output pipe open.
    pg._run(str(pg.bin / "pg_ctl"), "-D", str(pg.dir / "data"), "-l", str(pg.dir / "log"),
            "-m", "fast", "-w", "restart")  # fmt: skip


def _jobs(fired: list[tuple[float, str]], name: str) -> object:
    def build(s: Schedules) -> list[JobSpec]:
        async def tick() -> None:
            fired.append((time.monotonic(), name))

        return [JobSpec("tick", tick, interval_trigger(timedelta(seconds=1), s.tz))]

    return build


def _firing(fired: list[tuple[float, str]], since: float) -> set[str]:
    return {name for at, name in fired if at >= since}


async def _settled(fired: list[tuple[float, str]], *, window: float, deadline: float) -> set[str]:
    """Who fires, once a whole window shows one instance firing (or the last window seen)."""
    seen: set[str] = set()
    while time.monotonic() < deadline:
        start = time.monotonic()
        await asyncio.sleep(window)  # an observation window, not a wait for something to happen
        seen = _firing(fired, start)
        if len(seen) == 1:
            return seen
    return seen


def test_after_a_postgresql_restart_exactly_one_instance_fires(
    own_pg: PgServer, settings: Settings, tmp_path: Path
) -> None:
    url = own_pg.new_database()
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    (tmp_path / "schedules.yaml").write_text("digests: []\n", "utf-8")
    s = settings.model_copy(
        update={"database_url": url, "schedules_file": tmp_path / "schedules.yaml"}
    )
    apps = [App(settings=s), App(settings=s)]

    async def scenario() -> tuple[set[str], set[str], set[str]]:
        fired: list[tuple[float, str]] = []
        daemons = [
            Daemon(
                app,
                Parts(jobs=_jobs(fired, name), leader_poll=timedelta(seconds=0.5)),  # type: ignore[arg-type]
                role="scheduler",
            )
            for app, name in zip(apps, ("a", "b"), strict=True)
        ]
        tasks = [asyncio.create_task(d.run()) for d in daemons]
        before = await _settled(fired, window=2.5, deadline=time.monotonic() + 30)
        await asyncio.to_thread(restart, own_pg)
        after = await _settled(fired, window=2.5, deadline=time.monotonic() + 30)
        # And it stays that way.
        start = time.monotonic()
        await asyncio.sleep(3)  # an observation window
        later = _firing(fired, start)
        for d in daemons:
            d.stop()
        codes = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert codes == [0, 0]
        return before, after, later

    try:
        before, after, later = asyncio.run(scenario())
    finally:
        for app in apps:
            app.close()
    assert len(before) == 1, before
    assert len(after) == 1, f"after the restart these instances fire: {after}"
    assert later == after


def test_the_drain_survives_a_postgresql_restart_and_sends_everything(
    own_pg: PgServer, settings: Settings
) -> None:
    total = 300
    url = own_pg.new_database()
    eng = make_engine(url)
    upgrade(eng)
    fill(eng, FixedClock(datetime.now(UTC)), total)
    s = settings.model_copy(
        update={"database_url": url, "smtp_pool_size": 2, "lease_duration": timedelta(seconds=5),
                "smtp_data_timeout": 3.0, "mark_batch_size": 10}
    )  # fmt: skip

    async def scenario() -> tuple[SmtpServer, Daemon, dict[str, int]]:
        relay = await SmtpServer(behaviour=Behaviour(final_delay=0.05)).start()
        app = App(settings=s.model_copy(update={"smtp_url": relay.url}))
        runtime = JobTable(app)
        backoff = Backoff(first=timedelta(seconds=0.5), healthy_after=timedelta(seconds=1))
        parts = Parts(jobs=lambda _s: [], drain=runtime.drain_forever, drain_backoff=backoff)
        daemon = Daemon(app, parts, role="worker")
        task = asyncio.create_task(daemon.run())
        deadline = time.monotonic() + 60
        while len(relay.record.messages) < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # polling for the drain to be under way
        await asyncio.to_thread(restart, own_pg)
        mid_drain = len(relay.record.messages) < total  # the restart did land mid-drain
        assert mid_drain, "the relay was too fast for this test"
        left = statuses(eng)
        while (left.get("sent", 0) < total or not daemon.drain_state.up) and (
            time.monotonic() < deadline
        ):
            await asyncio.sleep(0.2)  # polling for the outbox to empty, with a deadline
            left = await asyncio.to_thread(statuses, eng)
        daemon.stop()
        assert await asyncio.wait_for(task, 60) == 0
        await relay.stop()
        runtime.http.close()
        app.close()
        return relay, daemon, left

    try:
        relay, daemon, left = asyncio.run(scenario())
    finally:
        eng.dispose()
    assert left == {"sent": total}, left
    # The drain rides out the outage itself (retrying its database calls); should it end
    # anyway, the supervisor restarts it. Either way it is up and everything was sent.
    assert daemon.drain_state.up
    received = relay.record.recipients()
    assert set(received) == {f"user{i}@example.kr" for i in range(total)}
