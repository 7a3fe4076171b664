"""Supervision of a long-running part of the daemon (the outbox drain): nothing stops silently.

A part that ends on its own, or raises, is logged at ERROR with the cause, reported down (to
/healthz, `publisher status` and the ``publisher_drain_up`` gauge) and started again after a
backoff that doubles up to a cap. It counts as up again once a new attempt has run for
``healthy_after`` without failing; a clean stop (the stop event) ends the supervision.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

log = logging.getLogger("publisher.daemon.process")
Part = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class PartState:
    """What health checks read: whether the part runs, and why not.

    ``up`` is the supervisor's view (the part runs). ``paused`` is the part's own: it runs
    but does no work (the drain after a relay outage or its circuit breaker, until a message
    goes out again). Either makes the part not ``healthy``.
    """

    name: str
    up: bool = True
    reason: str = ""
    restarts: int = 0
    paused: str = ""
    listeners: list[Callable[[PartState], None]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.up and not self.paused

    @property
    def problem(self) -> str:
        """Why the part is not healthy ("" when it is)."""
        if not self.up:
            return self.reason
        return f"paused: {self.paused}" if self.paused else ""

    def set(self, up: bool, reason: str = "") -> None:
        """Called once per failure (down) and once per attempt that proved healthy (up)."""
        self.up, self.reason = up, reason
        self._changed()

    def pause(self, reason: str) -> None:
        self.paused = reason
        self._changed()

    def resume(self) -> None:
        if self.paused:
            self.paused = ""
            self._changed()

    def _changed(self) -> None:
        for hook in self.listeners:
            hook(self)


@dataclass(frozen=True)
class Backoff:
    first: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(seconds=60)
    healthy_after: timedelta = timedelta(seconds=3)


def describe(exc: BaseException) -> str:
    """One line naming the cause: the exception's class and its first line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


async def supervise(part: Part, stop: asyncio.Event, state: PartState, backoff: Backoff) -> None:
    delay = backoff.first.total_seconds()
    last_reason = ""
    while not stop.is_set():
        started = time.monotonic()
        healthy = asyncio.get_running_loop().call_later(
            backoff.healthy_after.total_seconds(), state.set, True
        )
        error: BaseException | None = None
        try:
            await part(stop)
        except Exception as exc:
            error = exc
        finally:
            healthy.cancel()
        if stop.is_set() and error is None:
            return
        if time.monotonic() - started >= backoff.healthy_after.total_seconds():
            delay = backoff.first.total_seconds()  # it ran well for a while: a fresh failure
        reason = describe(error) if error is not None else "ended on its own"
        state.restarts += 1
        state.set(False, f"{reason} (restarting in {delay:g} s)")
        # The traceback once per new cause; the same cause again is one line.
        log.error(
            "%s stopped: %s; restarting in %g s", state.name, reason, delay,
            exc_info=error if error is not None and reason != last_reason else None,
        )  # fmt: skip
        last_reason = reason
        try:
            async with asyncio.timeout(delay):
                await stop.wait()
        except TimeoutError:
            pass
        delay = min(delay * 2, backoff.cap.total_seconds())
