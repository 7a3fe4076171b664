"""The daemon core: jobs fire under the scheduler, SIGHUP-style reload, leader election."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Engine

from publisher.app import App
from publisher.core.config import Settings
from publisher.core.schedules import Schedules
from publisher.daemon.process import Daemon, Parts
from publisher.daemon.scheduler import JobSpec, trigger_for
from publisher.store.db import make_engine
from publisher.store.leader import LeaderLock


def _jobs_factory(fired: asyncio.Queue[str]) -> object:
    def build(s: Schedules) -> list[JobSpec]:
        specs = []
        for d in s.digests:

            async def run(job_id: str = f"digest:{d.id}") -> None:
                await fired.put(job_id)

            specs.append(JobSpec(job_id=f"digest:{d.id}", func=run, trigger=trigger_for(d, s.tz)))
        return specs

    return build


def _settings(settings: Settings, schedules: Path) -> Settings:
    return settings.model_copy(update={"schedules_file": schedules})


def test_jobs_fire_reload_keeps_old_on_error_and_stop_is_clean(
    settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    sched = tmp_path / "schedules.yaml"
    sched.write_text("digests:\n - {id: a, name: A, cron: '0 7 * * *'}\n", "utf-8")
    app = App(settings=_settings(settings, sched))

    async def scenario() -> tuple[int, str, set[str], set[str], set[str]]:
        fired: asyncio.Queue[str] = asyncio.Queue()
        daemon = Daemon(app, Parts(jobs=_jobs_factory(fired)), role="scheduler")  # type: ignore[arg-type]
        task = asyncio.create_task(daemon.run())
        while not daemon.scheduler.running or any(
            t is None for t in daemon.scheduler.next_runs().values()
        ):
            await asyncio.sleep(0.01)  # wait for start-up and leadership, not for time to pass
        daemon.scheduler.run_soon("digest:a")
        first = await asyncio.wait_for(fired.get(), 10)
        before = set(daemon.scheduler.next_runs())
        sched.write_text("digests:\n - {id: a, name: A, cron: 'bad'}\n", "utf-8")
        daemon.reload()
        kept = set(daemon.scheduler.next_runs())
        sched.rename(tmp_path / "aside.yaml")
        sched.mkdir()  # unreadable as a file: IsADirectoryError, an OSError
        daemon.reload()
        kept &= set(daemon.scheduler.next_runs())
        sched.rmdir()
        sched.write_text(
            "digests:\n - {id: a, name: A, cron: '0 7 * * *'}\n - {id: b, name: B, at: '08:00'}\n",
            "utf-8",
        )
        daemon.reload()
        after = set(daemon.scheduler.next_runs())
        daemon.stop()
        code = await asyncio.wait_for(task, 30)
        return code, first, before, kept, after

    code, first, before, kept, after = asyncio.run(scenario())
    app.close()
    assert first == "digest:a"
    assert before == kept == {"digest:a"}
    assert after == {"digest:a", "digest:b"}
    assert code == 0


def test_one_leader_on_postgresql_and_takeover(pg_url: str) -> None:
    e1, e2 = make_engine(pg_url), make_engine(pg_url)
    first, second = LeaderLock(e1), LeaderLock(e2)
    try:
        assert first.poll() is True
        assert second.poll() is False
        assert first.poll() is True  # still ours
        first.release()  # a clean stop hands over at the next poll
        assert second.poll() is True
        assert first.poll() is False
        # A leader that dies without unlocking: its session ends and the lock goes with it.
        assert second._conn is not None
        second._conn.invalidate()  # the socket closes without an unlock, as on kill -9
        second._conn = None
        deadline = time.monotonic() + 10  # wait for the server to end that session
        while not first.poll() and time.monotonic() < deadline:
            pass
        assert first.held
    finally:
        first.release()
        second.release()
        e1.dispose()
        e2.dispose()


def test_sqlite_instance_always_leads(engine: Engine) -> None:
    assert LeaderLock(engine).poll() is True
