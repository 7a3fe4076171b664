"""Store calls run one at a time, in order, on the drain's current database thread.

Like a one-thread executor, except that the work can move to a new thread (at another CPU
priority, delivery/dbpriority.py) at any moment: the calls not yet started go to the new
thread, the call running on the old one finishes there first, and the old thread ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("publisher.delivery.drain")


class DbWorkers:
    def __init__(self, on_start: Callable[[bool], None]) -> None:
        self._on_start = on_start  # run first on each new thread, with its ``lower`` flag
        self._calls: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = deque()
        self._cond = threading.Condition()
        self._busy = False  # a call is running (on whichever thread): the next one waits
        self._current: threading.Thread | None = None
        # Started but not yet current: it waits. The current thread stays current until the
        # new one is running, so a start that fails never leaves the work without a thread.
        self._pending: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._closing = False

    @property
    def started(self) -> bool:
        return self._current is not None

    def start(self, *, lower: bool) -> bool:
        """Make a new thread the current one; the previous thread ends after its call.
        False (and the work stays where it is) when no thread can be started."""
        thread = threading.Thread(target=self._work, args=(lower,), name="outbox-db", daemon=True)
        with self._cond:
            self._pending = thread
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        try:
            thread.start()
        except RuntimeError:  # "can't start new thread" (a pids limit)
            with self._cond:
                self._pending = None
                self._threads.remove(thread)
            return False
        with self._cond:
            self._pending, self._current = None, thread
            self._cond.notify_all()
        return True

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        future: Future[T] = Future()
        with self._cond:
            if self._closing:
                raise RuntimeError("the database thread was shut down")
            self._calls.append((future, fn, args))
            self._cond.notify_all()
        return await asyncio.wrap_future(future)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Finish the queued calls, then end every thread; blocks until they have, or until
        ``timeout`` seconds have passed. True when every thread has ended."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        return not any(t.is_alive() for t in threads)

    def _work(self, lower: bool) -> None:
        try:
            self._on_start(lower)
        except Exception:  # a priority that cannot be set does not stop the store calls
            log.exception("the drain's database thread keeps its priority")
        me = threading.current_thread()
        while (job := self._next(me)) is not None:
            future, fn, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _next(
        self, me: threading.Thread
    ) -> tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None:
        """The next call for ``me`` to run, or None when ``me`` should end."""
        with self._cond:
            while True:
                if self._pending is me:  # started, not yet current (``start``)
                    self._cond.wait()
                    continue
                if self._current is not me or (self._closing and not self._calls):
                    return None
                if self._calls and not self._busy:
                    self._busy = True
                    return self._calls.popleft()
                self._cond.wait()
