"""`publisher run`: scheduler, web server and outbox drain in one asyncio process.

The only home of uvicorn. Shutdown order on SIGTERM/SIGINT: stop firing schedules, stop taking
HTTP requests, then let the drain finish or release its in-flight rows within the grace period.
SIGHUP reloads schedules.yaml and keeps the old jobs when the new file is invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any, Literal

import uvicorn

from publisher.app import App
from publisher.scheduler import JobSpec, Scheduler
from publisher.schedules import Schedules, load_schedules
from publisher.store.leader import LeaderLock

log = logging.getLogger("publisher.daemon")
Role = Literal["all", "web", "worker", "scheduler"]
JobsFactory = Callable[[Schedules], list[JobSpec]]
Drain = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Parts:
    """What the daemon runs; built by the composition root from settings."""

    jobs: JobsFactory
    web_app: Any | None = None  # an ASGI application
    drain: Drain | None = None
    leader_poll: timedelta = timedelta(seconds=15)
    grace: timedelta = timedelta(seconds=20)
    on_leader_change: list[Callable[[bool], None]] = field(default_factory=list)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon owns the signals; uvicorn only stops when told to.
        yield


class Daemon:
    def __init__(self, app: App, parts: Parts, *, role: Role = "all") -> None:
        self.app = app
        self.parts = parts
        self.role = role
        self.scheduler = Scheduler(tz=app.settings.tz)
        self.leader = LeaderLock(app.engine)
        self.stop_event = asyncio.Event()
        self.schedules: Schedules = app.schedules
        self._server: _Server | None = None

    # -- lifecycle -------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        tasks: list[asyncio.Task[Any]] = []
        if self.role in ("all", "scheduler"):
            self.scheduler.set_jobs(self.parts.jobs(self.schedules))
            self.scheduler.start(paused=True)
            tasks.append(asyncio.create_task(self._lead(), name="leader"))
        if self.role in ("all", "web") and self.parts.web_app is not None:
            tasks.append(asyncio.create_task(self._serve_web(), name="web"))
        drain_stop = asyncio.Event()
        drain_task = None
        if self.role in ("all", "worker") and self.parts.drain is not None:
            drain_task = asyncio.create_task(self.parts.drain(drain_stop), name="drain")
        await self.stop_event.wait()
        log.info("stopping: schedules, then web, then the drain")
        self.scheduler.shutdown()
        if self._server is not None:
            self._server.should_exit = True
        drain_stop.set()
        pending = [*tasks, *([drain_task] if drain_task else [])]
        done, still = await asyncio.wait(pending, timeout=self.parts.grace.total_seconds())
        for task in still:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s ended with %r", task.get_name(), task.exception())
        self.leader.release()
        log.info("stopped")
        return 0

    def stop(self) -> None:
        self.stop_event.set()

    def reload(self) -> None:
        try:
            fresh = load_schedules(self.app.settings.schedules_file)
            specs = self.parts.jobs(fresh)
        except ValueError as exc:
            log.error("SIGHUP: schedules.yaml is invalid, keeping the old schedule:\n%s", exc)
            return
        self.schedules = fresh
        if self.role in ("all", "scheduler"):
            self.scheduler.set_jobs(specs)
            self.log_next_runs()
        log.info("SIGHUP: schedules reloaded (%d jobs)", len(specs))

    # -- parts -----------------------------------------------------------------
    async def _lead(self) -> None:
        was = False
        while not self.stop_event.is_set():
            now_leader = await asyncio.to_thread(self.leader.poll)
            if now_leader != was:
                if now_leader:
                    log.info("this instance fires the schedules")
                    self.scheduler.resume()
                    self.log_next_runs()
                else:
                    log.warning("lost the scheduler lock; pausing schedules")
                    self.scheduler.pause()
                for hook in self.parts.on_leader_change:
                    hook(now_leader)
                was = now_leader
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.stop_event.wait(), self.parts.leader_poll.total_seconds()
                )

    async def _serve_web(self) -> None:
        s = self.app.settings
        assert self.parts.web_app is not None
        config = uvicorn.Config(
            self.parts.web_app,
            host=s.web_host,
            port=s.web_port,
            log_config=None,
            access_log=False,
            lifespan="on",  # the web context flushes buffered page views on shutdown
        )
        self._server = _Server(config)
        await self._server.serve()

    def log_next_runs(self) -> None:
        tz = self.app.settings.tz
        for job_id, at in sorted(self.scheduler.next_runs().items()):
            if at is None:
                log.info("schedule %s: paused", job_id)
            else:
                log.info(
                    "schedule %s: next run %s (%s UTC)",
                    job_id,
                    at.astimezone(tz).isoformat(timespec="minutes"),
                    at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                )

    @property
    def healthy(self) -> bool:
        needs_scheduler = self.role in ("all", "scheduler")
        return self.scheduler.running or not needs_scheduler
