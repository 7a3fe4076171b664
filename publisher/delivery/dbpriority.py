"""The scheduling priority of the drain's database thread (``db_thread_priority``).

Why: the drain's claims and marks are bursts of CPU (a 500-row claim is 10–13 ms). When
the relay runs on the same machine, each burst takes the core that the event loop or the
relay was about to wake on, the eight connections run dry and the relay idles. At
``background`` the thread runs under Linux's ``SCHED_IDLE``: a thread that wakes to send
or to relay takes the core at once, and the bookkeeping runs in the time left over
(SQLite drain median 1.03× smtp-source against 0.89× at normal priority, beside
Postfix's smtp-sink on two cores: bench/deliver.py).

The danger is starvation: on a machine with no CPU to spare an idle-class thread barely
runs, and the drain would stop. So the ``Governor`` watches how long the thread waits for a
CPU (``/proc``'s schedstat, every ``WINDOW`` seconds on the event loop); past ``STARVED``
of a window it moves the work to a new thread at normal priority (a thread cannot leave
``SCHED_IDLE`` without ``CAP_SYS_NICE`` or an ``RLIMIT_NICE``, which daemons seldom have),
and tries background again after a hold that doubles each time it starves (10 s up to
5 min; from 10 s again after 5 min at background without starving). Where the waits
cannot be read, the thread is never lowered.

The cost, and why ``normal`` is the setting's default: while the idle-class thread holds
the GIL and the CPU is saturated by others, the event loop (sending, the web app) waits for
it; the reviewer measured loop stalls of 0.5–1 s under two CPU hogs until the move.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
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
    # Written by each new thread as it starts (thread_started), read on the loop: single
    # attribute writes, and a stale read only delays a decision by one window.
    background: bool = field(default=False, init=False)  # the thread is in the idle class
    tid: int = field(default=0, init=False)
    # The window's start, and the wait then of the thread it was read from.
    _since: tuple[float, float, int] | None = field(default=None, init=False)
    _hold: float = field(default=HOLD_FIRST, init=False)
    _normal_until: float = field(default=0.0, init=False)
    _back_at: float = field(default=0.0, init=False)  # the last move back to background
    share: float = field(default=0.0, init=False)  # of the last window spent waiting
    window: float = field(default=0.0, init=False)

    def thread_started(self, lower: bool) -> None:
        """Run first on each new database thread (dbworkers.DbWorkers), before its calls."""
        tid = threading.get_native_id()
        # No safety net without the waits: then the thread is not lowered at all.
        readable = self.port.waited(tid) is not None
        self.background = lower and readable and self.port.lower_this_thread()
        self.tid = tid
        if lower and not self.background:  # the operator asked for it: say it did not take
            log.warning(
                "db_thread_priority = background has no effect here: %s",
                "the system refuses the idle class" if readable
                else "the thread's CPU waits cannot be read (/proc)",
            )  # fmt: skip

    def new_thread_wanted(self, now: float) -> bool | None:
        """None to stay; else move the work to a new thread, at background if True."""
        if self.wanted != "background":
            return None
        if not self.background:
            return True if now >= self._normal_until > 0 else None
        return False if self._starving(now) else None

    def moved(self, now: float, *, lower: bool) -> None:
        """The work moved to a new thread; off background (starving), hold normal a while.
        The hold doubles with each starving spell, and starts again from HOLD_FIRST after
        HOLD_MAX at background without one."""
        if lower:
            self._normal_until, self._back_at = 0.0, now
            log.info("the drain's database thread is back at background priority")
            return
        if self._back_at and now - self._back_at >= HOLD_MAX:
            self._hold = HOLD_FIRST
        self._normal_until = now + self._hold
        log.warning(
            "the drain's database thread waited for a CPU %.0f%% of the last %.1f s at "
            "background priority: normal priority for %.0f s",
            self.share * 100, self.window, self._hold,
        )  # fmt: skip
        self._hold = min(self._hold * 2, HOLD_MAX)

    def _starving(self, now: float) -> bool:
        tid = self.tid
        waited = self.port.waited(tid) if tid else None
        if waited is None:
            return False
        since, self._since = self._since, (now, waited, tid)
        if since is None or since[2] != tid or now <= since[0]:
            return False  # a first look at this thread: a baseline
        self.window = now - since[0]
        self.share = (waited - since[1]) / self.window
        return self.share > STARVED
