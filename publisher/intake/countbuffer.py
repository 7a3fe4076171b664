"""Counts piled up in memory and written in batches: the mechanism page views use
(intake/pagehits.py) and click counts share (analytics/counting.py).

A buffer is not locked: its owner holds its own lock around ``add`` and ``take``, the same
lock that guards its other per-hit state, so a hit costs one lock.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class CountBuffer(Generic[K]):
    """Counts per key since the last ``take``; due when ``max_buffered`` hits are waiting or
    the oldest is ``flush_every`` older than the newest (by the hits' own times)."""

    def __init__(self, *, flush_every: timedelta, max_buffered: int) -> None:
        self.flush_every = flush_every
        self.max_buffered = max_buffered
        self.counts: dict[K, int] = {}
        self.buffered = 0
        self._oldest: datetime | None = None

    def add(self, key: K, at: datetime, n: int = 1) -> bool:
        """Add ``n`` to ``key``; True when the buffer is due to be written."""
        self.counts[key] = self.counts.get(key, 0) + n
        self.buffered += 1
        if self._oldest is None:
            self._oldest = at
        return self.buffered >= self.max_buffered or at - self._oldest >= self.flush_every

    def take(self) -> tuple[dict[K, int], int]:
        """Everything buffered (counts, hits), leaving the buffer empty."""
        counts, buffered = self.counts, self.buffered
        self.counts, self.buffered, self._oldest = {}, 0, None
        return counts, buffered

    def restore(self, counts: dict[K, int], buffered: int) -> None:
        """Put back what a failed write took, so the next flush retries it."""
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.buffered += buffered
