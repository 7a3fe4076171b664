"""Where the drain's event loop stalls: a 1 ms ticker measures how late the loop wakes, and
each stall over 2 ms is put down to the database calls that ran at the same time.

Used by the drain child of bench/drainkit.py when ``DRAINKIT_STALLS=1`` (``bench/deliver.py
--stalls``). A stall is time in which no reply is answered and nothing is written, so all
eight connections can run dry and the sink waits: the figure that shows why the drain falls
short of smtp-source although the machine still has idle CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
CALLS = ("claim", "recheck", "apply", "renew", "free_dead")
TICK, STALL = 0.001, 0.002


class StallTracer:
    def __init__(self) -> None:
        self.calls: list[tuple[float, float, str]] = []  # (start, end, store method)
        self.lags: list[tuple[float, float]] = []  # (lateness, woke at)

    def wrap_store(self, store_class: type) -> None:
        """Time every call of the drain's store side (they run on its database thread), and
        within a claim its ``UPDATE … RETURNING`` statements (``claim SQL``)."""
        from publisher.store import outbox

        for name in CALLS:
            setattr(store_class, name, self._timed(getattr(store_class, name), name))
        outbox.claim = self._timed(outbox.claim, "claim SQL")

    def _timed(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.calls.append((t0, time.perf_counter(), name))

        return timed

    async def run(self, work: Awaitable[T]) -> T:
        """Await ``work`` with the ticker running beside it."""
        ticker = asyncio.create_task(self._tick())
        try:
            return await work
        finally:
            ticker.cancel()

    async def _tick(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.lags.append((now - t0 - TICK, now))

    def summary(self, seconds: float) -> str:
        """One line: stalls over 2 ms, their total, and how much of it overlapped which call."""
        stalls = [(lag, at) for lag, at in self.lags if lag > STALL]
        by: dict[str, float] = {}
        for lag, at in stalls:
            began = at - lag - TICK
            names = sorted({n for a, b, n in self.calls if a < at and b > began})
            key = "+".join(names) or "no database call"
            by[key] = by.get(key, 0.0) + lag
        busy: dict[str, float] = {}
        for a, b, n in self.calls:
            busy[n] = busy.get(n, 0.0) + b - a
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))
        calls = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(busy.items()) if v >= 0.005)
        total = sum(lag for lag, _ in stalls)
        return (
            f"loop stalls over 2 ms: {len(stalls)}, {total:.2f} s of {seconds:.1f} s "
            f"({100 * total / seconds:.0f} %); during: {parts or 'none'}; "
            f"database calls busy: {calls}"
        )
