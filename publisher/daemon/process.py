"""`publisher run`: scheduler, web server and outbox drain in one asyncio process.

The only home of uvicorn. Start-up binds every listener first: a port in use is one line and
exit 2 before any job starts. Stop (SIGTERM/SIGINT) is one sequence: stop firing schedules,
stop taking HTTP requests, then let the drain stop claiming, wait for its in-flight replies,
commit every sent mark and release what it did not try, within its own ``shutdown_grace``; the
daemon never cancels it early. SIGHUP reloads schedules.yaml and keeps the old jobs when the
new file is invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any, Literal

import uvicorn

from publisher.app import App
from publisher.core.schedules import Schedules
from publisher.daemon.connguard import (
    BUSY_REPLY,
    AcceptErrorFilter,
    ConnectionGuard,
    connection_cap,
    raise_fd_limit,
)
from publisher.daemon.listeners import ListenError, bind_all
from publisher.daemon.scheduler import JobSpec, Scheduler, load_schedules
from publisher.daemon.supervise import Backoff, Part, PartState, supervise
from publisher.store.leader import LeaderLock

log = logging.getLogger("publisher.daemon.process")
Role = Literal["all", "web", "worker", "scheduler"]
JobsFactory = Callable[[Schedules], list[JobSpec]]
Drain = Part
# After its grace the drain still commits its marks and releases its rows (database work):
# the daemon waits this much longer before it gives up on it.
FLUSH_ALLOWANCE = timedelta(seconds=15)
MAX_HEAD_BYTES = 64 * 1024  # a request head larger than this is hostile, not a browser
OPS_MAX_CONNECTIONS = 32
KEEP_ALIVE_SECONDS = 5


@dataclass
class Parts:
    """What the daemon runs; built by the composition root from settings."""

    jobs: JobsFactory
    web_app: Any | None = None  # an ASGI application
    ops_app: Any | None = None  # the operations listener's ASGI application
    drain: Drain | None = None
    leader_poll: timedelta = timedelta(seconds=15)
    grace: timedelta = timedelta(seconds=20)
    drain_backoff: Backoff = field(default_factory=Backoff)
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
        self.drain_state = PartState("drain")
        self.leading = False
        self.guards: dict[str, ConnectionGuard] = {}
        self._servers: dict[str, _Server] = {}

    @property
    def schedules_here(self) -> bool:
        return self.role in ("all", "scheduler")

    @property
    def drains_here(self) -> bool:
        return self.role in ("all", "worker") and self.parts.drain is not None

    # -- lifecycle -------------------------------------------------------------
    async def run(self) -> int:
        try:
            sockets = self._listen()
        except ListenError as exc:
            log.error("%s", exc)
            return 2
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(AcceptErrorFilter())
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        tasks: list[asyncio.Task[Any]] = []
        if self.schedules_here:
            self.scheduler.set_jobs(self._guarded(self.parts.jobs(self.schedules)))
            self.scheduler.start(paused=True)
            tasks.append(asyncio.create_task(self._lead(), name="leader"))
        for name, sock in sockets.items():
            tasks.append(asyncio.create_task(self._serve(name, sock), name=name))
        drain_stop = asyncio.Event()
        drain_task = None
        if self.drains_here:
            assert self.parts.drain is not None
            drain_task = asyncio.create_task(
                supervise(self.parts.drain, drain_stop, self.drain_state, self.parts.drain_backoff),
                name="drain",
            )
        code = await self._until_stop(tasks)
        log.info("stopping: schedules, then web, then the drain")
        self.scheduler.shutdown()
        if "web" in self._servers:
            self._servers["web"].should_exit = True
        drain_stop.set()
        grace = self.parts.grace.total_seconds()
        front = [t for t in tasks if t.get_name() != "ops"]
        await _finish(front, grace)
        if drain_task is not None:
            await self._finish_drain(drain_task)
        if "ops" in self._servers:  # /healthz and /metrics answer until the drain is done
            self._servers["ops"].should_exit = True
        await _finish([t for t in tasks if t.get_name() == "ops"], grace)
        await asyncio.to_thread(self.leader.release)
        log.info("stopped")
        return code

    async def _until_stop(self, tasks: list[asyncio.Task[Any]]) -> int:
        """Wait for a stop signal; a listener or the leader loop that ends first is an error
        (exit 1, so that systemd restarts the daemon), never a silent half-running process."""
        stop = asyncio.create_task(self.stop_event.wait())
        done, _ = await asyncio.wait({stop, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        if stop in done:
            return 0
        stop.cancel()
        for task in done:
            error = None if task.cancelled() else task.exception()
            log.error("%s ended unexpectedly (%r); stopping the daemon", task.get_name(), error)
        return 1

    async def _finish_drain(self, task: asyncio.Task[None]) -> None:
        # Not cancelled at the grace: the drain has that same deadline for its in-flight
        # replies, and after it must still commit the sent marks and release the rest.
        limit = (self.parts.grace + FLUSH_ALLOWANCE).total_seconds()
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            log.error("the drain did not stop within %g s; cancelling it", limit)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def stop(self) -> None:
        self.stop_event.set()

    def reload(self) -> None:
        try:
            fresh = load_schedules(self.app.settings.schedules_file)
            specs = self.parts.jobs(fresh)
        except ValueError as exc:
            log.error("SIGHUP: schedules.yaml is invalid, keeping the old schedule:\n%s", exc)
            return
        except OSError as exc:  # unreadable: a signal handler's exception would only be logged
            log.error("SIGHUP: cannot read schedules.yaml, keeping the old schedule: %s", exc)
            return
        self.schedules = fresh
        if self.schedules_here:
            self.scheduler.set_jobs(self._guarded(specs))
            self.log_next_runs()
        log.info("SIGHUP: schedules reloaded (%d jobs)", len(specs))

    def checks(self) -> dict[str, tuple[bool, str]]:
        """What /healthz reports besides the database: each part this role runs."""
        out: dict[str, tuple[bool, str]] = {}
        if self.schedules_here:
            out["scheduler"] = (self.scheduler.running, "" if self.scheduler.running else "stopped")
        if self.drains_here:
            out["drain"] = (self.drain_state.healthy, self.drain_state.problem)
        return out

    # -- leadership --------------------------------------------------------------
    def _poll_timeout(self) -> float:
        return max(5.0, 2 * self.parts.leader_poll.total_seconds())

    async def _lead(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    leading = await asyncio.wait_for(
                        asyncio.to_thread(self.leader.poll), self._poll_timeout()
                    )
                except Exception as exc:  # a hung or failing check: we cannot confirm the lock
                    log.error("scheduler lock check failed: %s", type(exc).__name__)
                    leading = False
                if leading and not self.leading:
                    self._take_lead()
                elif not leading and self.leading:
                    self._step_down("lost the scheduler lock")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.stop_event.wait(), self.parts.leader_poll.total_seconds()
                    )
        finally:
            # Whatever ends this loop, this instance no longer knows it leads.
            self.scheduler.pause()

    def _take_lead(self) -> None:
        self.leading = True
        log.info("this instance fires the schedules")
        self.scheduler.resume()
        self.log_next_runs()
        for hook in self.parts.on_leader_change:
            hook(True)

    def _step_down(self, why: str) -> None:
        self.scheduler.pause()  # first: no job may fire once the lock is in doubt
        was, self.leading = self.leading, False
        if was:
            log.warning("%s; schedules paused", why)
            for hook in self.parts.on_leader_change:
                hook(False)

    def _guarded(self, specs: list[JobSpec]) -> list[JobSpec]:
        """On PostgreSQL every job first confirms the lock on its session (one round trip):
        between two polls the lock may be gone (a server restart ends the session) while
        another instance already fires."""
        if not self.leader.shared:
            return specs
        return [dataclasses.replace(s, func=self._confirmed(s)) for s in specs]

    def _confirmed(self, spec: JobSpec) -> Callable[[], Any]:
        async def run() -> None:
            try:
                ok = await asyncio.wait_for(
                    asyncio.to_thread(self.leader.confirm), self._poll_timeout()
                )
            except Exception:
                ok = False
            if ok:
                await spec.func()
            else:
                self._step_down(f"cannot confirm the scheduler lock before {spec.job_id}")

        return run

    # -- listeners -----------------------------------------------------------------
    def _listen(self) -> dict[str, socket.socket]:
        """Bind every listener this role serves, before anything else starts."""
        s = self.app.settings
        wanted: dict[str, tuple[str, int, str]] = {}
        if self.role in ("all", "web") and self.parts.web_app is not None:
            wanted["web"] = (s.web_host, s.web_port, "web_host/web_port")
        if self.parts.ops_app is not None and s.ops_port:
            wanted["ops"] = (s.ops_host, s.ops_port, "ops_host/ops_port")
        return bind_all(wanted)

    async def _serve(self, name: str, sock: socket.socket) -> None:
        s = self.app.settings
        fd_limit = raise_fd_limit()
        if name == "web":
            app, cap = self.parts.web_app, connection_cap(s.web_max_connections, fd_limit)
        else:
            app, cap = self.parts.ops_app, OPS_MAX_CONNECTIONS
        assert app is not None
        guard = ConnectionGuard(max_connections=cap, header_timeout=s.web_header_timeout)
        self.guards[name] = guard
        config = uvicorn.Config(
            app,
            http=_guarded_protocol(guard),
            log_config=None,
            access_log=False,
            # Our settings (trust_forwarded_for, trusted_proxies) are the only switch for
            # X-Forwarded-For; uvicorn's own rewriting of the client address stays off.
            proxy_headers=False,
            lifespan="on" if name == "web" else "off",  # the web context flushes page views
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=int(self.parts.grace.total_seconds()) or 1,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        server = _Server(config)
        self._servers[name] = server
        host, port = sock.getsockname()[:2]
        log.info("%s listening on http://%s:%s", name, host, port)
        await server.serve(sockets=[sock])

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


async def _finish(tasks: list[asyncio.Task[Any]], grace: float) -> None:
    """Wait for tasks up to ``grace``, cancel the rest, and wait for them to unwind."""
    if not tasks:
        return
    done, still = await asyncio.wait(tasks, timeout=grace)
    for task in still:
        task.cancel()
    await asyncio.gather(*still, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s ended with %r", task.get_name(), task.exception())


def _guarded_protocol(guard: ConnectionGuard) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with the connection guard wired into its lifecycle."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # httptools not installed: the pure-Python parser
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]

    class Guarded(base):
        head_bytes = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if not guard.opened(self):
                transport.write(BUSY_REPLY)
                transport.close()

        def data_received(self, data: bytes) -> None:
            waiting = guard.is_waiting(self)
            super().data_received(data)
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                self.head_bytes = 0  # the head is complete (the chunk may carry body too)
                if cycle.more_body:  # the body is still arriving: it is timed too
                    guard.receiving(self, len(data))
                else:
                    guard.busy(self)
            elif waiting:
                self.head_bytes += len(data)
                if self.head_bytes > MAX_HEAD_BYTES:  # still no complete head
                    guard.closed(self)
                    self.close_now()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            guard.waiting(self)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.closed(self)
            super().connection_lost(exc)

        def close_now(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def reading_paused(self) -> bool:
            return bool(self.flow is not None and self.flow.read_paused)

    return Guarded
