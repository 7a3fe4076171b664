"""The drain's one database thread, and its retries while the database is down.

Store calls are blocking (SQLAlchemy): they run one at a time on this thread, so the event
loop keeps sending. A lost connection or a full disk (``drainstore.StoreUnavailable``) is
retried with backoff, logged at most every 10 s: the drain waits, it does not die.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from publisher.core.vocab import DbPriority
from publisher.delivery import dbpriority
from publisher.delivery.dbpriority import Governor, LinuxSched, SchedPort
from publisher.delivery.dbworkers import DbWorkers
from publisher.delivery.drainstore import Report, StoreUnavailable

log = logging.getLogger("publisher.delivery.drain")
T = TypeVar("T")
_RETRY_FIRST, _RETRY_MAX = 0.05, 5.0  # seconds between database retries


class Abandoned(Exception):
    """A database call was given up (stopping, or its deadline passed)."""


class DbThread:
    def __init__(
        self,
        report: Report,
        stopping: asyncio.Event,
        priority: DbPriority = "normal",
        sched: SchedPort | None = None,
    ) -> None:
        self.report = report
        self._stopping = stopping
        self._governor = Governor(sched or LinuxSched(), priority)
        self._workers = DbWorkers(self._governor.thread_started)
        self._timer: asyncio.TimerHandle | None = None
        self._warned = 0.0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        # The thread starts with the first call: a drain built and never run (the daemon
        # builds one per tick, and drops it while the relay is down) leaves no thread behind.
        if not self._workers.started:
            if not self._workers.start(lower=self._governor.wanted == "background"):
                raise RuntimeError("cannot start the drain's database thread")
            if self._governor.wanted == "background":
                self._govern()
        return await self._workers.call(fn, *args)

    def _govern(self) -> None:
        """Look at the thread's CPU waits every WINDOW seconds, on the loop: a look does not
        wait for a store call, and every queued call moves with the work."""
        loop = asyncio.get_running_loop()
        # Rescheduled first: a look that fails must not end the looks (a thread left
        # starving at idle priority would stall the drain without a word).
        self._timer = loop.call_later(dbpriority.WINDOW, self._govern)
        lower = self._governor.new_thread_wanted(loop.time())
        if lower is None:
            return
        if self._workers.start(lower=lower):
            self._governor.moved(loop.time(), lower=lower)
        else:
            log.error("cannot start a new database thread: the drain's work stays where it is")

    async def retry(
        self,
        fn: Callable[..., T],
        *args: Any,
        deadline: float | None = None,
        abandon_on_stop: bool = False,
    ) -> T:
        """``fn`` on the database thread, retried with backoff while the database is down.

        Gives up (``Abandoned``) when ``deadline`` (loop time) passes, or, with
        ``abandon_on_stop``, once the drain is stopping; otherwise waits as long as it takes.
        """
        loop = asyncio.get_running_loop()
        delay = _RETRY_FIRST
        while True:
            try:
                return await self.call(fn, *args)
            except StoreUnavailable as exc:
                self.trouble(exc)
                if deadline is not None and loop.time() + delay > deadline:
                    raise Abandoned(first_line(exc)) from None
                if abandon_on_stop and self._stopping.is_set():
                    raise Abandoned(first_line(exc)) from None
                if abandon_on_stop:
                    await wait_for(self._stopping, delay)
                else:
                    await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    def trouble(self, exc: BaseException) -> None:
        """Count and log (at most every 10 s) a database error the drain will retry."""
        self.report.db_errors += 1
        now = asyncio.get_running_loop().time()
        if now - self._warned >= 10 or self.report.db_errors == 1:
            self._warned = now
            log.error("database unavailable, delivery waits and retries: %s", first_line(exc))

    async def aclose(self, limit: float) -> None:
        """Let the queued calls finish and the thread end, waiting ``limit`` seconds at most
        off the event loop (a call stuck on a locked database must not freeze the web app
        beside the drain). The governor keeps looking meanwhile: a starving thread still
        moves. A thread still in a store call after that is left behind, and said so."""
        try:
            ended = await asyncio.to_thread(self._workers.shutdown, limit)
        except RuntimeError:  # no thread to wait from (a pids limit): do not wait at all
            ended = self._workers.shutdown(0)
        if self._timer is not None:
            self._timer.cancel()
        if not ended:
            log.error(
                "the drain's database thread is still in a store call after %g s at stop: "
                "left behind (its rows stay leased to this drain until the lease ends)",
                limit,
            )


async def wait_for(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set, or ``seconds`` have passed."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass


def first_line(exc: BaseException) -> str:
    """The error without SQLAlchemy's "[SQL: …] [parameters: …]" lines (addresses, tokens)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
