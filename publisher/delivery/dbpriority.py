"""The scheduling priority of the drain's database thread (``db_thread_priority``).

Why: the drain's claims and marks are bursts of CPU (a 500-row claim is 10–13 ms). When
the relay runs on the same machine, each burst takes the core that the event loop or the
relay was about to wake on, the eight connections run dry and the relay idles. At
``background`` the thread runs under Linux's ``SCHED_IDLE``: a thread that wakes to send
or to relay takes the core at once, and the bookkeeping runs in the time left over
(+8–11 % drain rate beside Postfix on two cores, bench/deliver.py).

The danger is starvation: on a machine with no CPU to spare an idle-class thread barely
runs, and the drain would stop. So the ``Governor`` watches how long the thread waits for a
CPU (``/proc``'s schedstat); past ``STARVED`` of a window it moves the work to a new thread
at normal priority (an unprivileged thread cannot leave ``SCHED_IDLE``), and tries
background again after a hold that doubles each time it starves (10 s up to 5 min).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from publisher.core.vocab import DbPriority

log = logging.getLogger("publisher.delivery.drain")

WINDOW = 2.0  # seconds between looks at the thread's waiting time
STARVED = 0.6  # share of a window spent waiting for a CPU that counts as starving
HOLD_FIRST, HOLD_MAX = 10.0, 300.0  # seconds at normal priority after starving


class SchedPort(Protocol):
    """The operating system's side: lower the calling thread, read a thread's CPU waits."""

    def lower_this_thread(self) -> bool:
        """Put the calling thread in the idle class; False where that does not exist."""
        ...

    def waited(self, tid: int) -> float | None:
        """Seconds thread ``tid`` has spent runnable without a CPU; None if unknown."""
        ...


class LinuxSched:
    """``SCHED_IDLE`` and ``/proc/self/task/<tid>/schedstat`` (run-queue wait, ns)."""

    def lower_this_thread(self) -> bool:
        policy = getattr(os, "SCHED_IDLE", None)
        if policy is None:
            return False
        try:
            os.sched_setscheduler(0, policy, os.sched_param(0))
        except OSError:
            return False
        return True

    def waited(self, tid: int) -> float | None:
        try:
            fields = Path(f"/proc/self/task/{tid}/schedstat").read_text().split()
            return int(fields[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return None


@dataclass
class Governor:
    """Decides, once a window, whether the thread at background priority is starving.

    ``now`` is the caller's clock (the event loop's), so the decisions are testable.
    """

    port: SchedPort
    wanted: DbPriority
    background: bool = False  # the current thread is in the idle class
    tid: int = 0
    _since: float | None = None  # start of the window and the wait then
    _waited: float = 0.0
    _hold: float = HOLD_FIRST
    _normal_until: float = 0.0

    def thread_started(self, lower: bool) -> None:
        """Run on each new database thread (the executor's initializer) before its work."""
        self.background = lower and self.port.lower_this_thread()
        self.tid = threading.get_native_id()

    def new_thread_wanted(self, now: float) -> bool | None:
        """None to stay; else move the work to a new thread, at background if True."""
        if self.wanted != "background":
            return None
        if not self.background:
            return True if now >= self._normal_until > 0 else None
        return False if self._starving(now) else None

    def moving(self, now: float, *, lower: bool) -> None:
        """The work moves to a new thread; off background (starving), hold normal a while."""
        self.background, self.tid, self._since = lower, 0, None
        if lower:
            self._normal_until = 0.0
            return
        self._normal_until = now + self._hold
        log.warning(
            "the drain's database thread waited over %d%% of %.0f s for a CPU at background "
            "priority: normal priority for %.0f s",
            STARVED * 100, WINDOW, self._hold,
        )  # fmt: skip
        self._hold = min(self._hold * 2, HOLD_MAX)

    def _starving(self, now: float) -> bool:
        waited = self.port.waited(self.tid) if self.tid else None
        if waited is None:
            return False
        if self._since is None:
            self._since, self._waited = now, waited
            return False
        if now - self._since < WINDOW or now <= self._since:
            return False
        share = (waited - self._waited) / (now - self._since)
        self._since, self._waited = now, waited
        return share > STARVED
