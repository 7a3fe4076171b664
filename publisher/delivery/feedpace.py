"""How many re-checked rows the drain keeps ahead of its workers, and when it feeds more.

Each row is looked up on the suppression list once more just before it is queued for a
worker (drain._feed): the fewer rows wait between that lookup and their send, the sooner an
unsubscribe takes effect; the more are fed at once, the fewer lookups at thousands/s.
"""

from __future__ import annotations

import math

from publisher.delivery.drainstore import DeliverConfig


def queue_floor(config: DeliverConfig) -> int:
    """Items kept re-checked ahead of the workers (fed again below it, so up to about twice
    as many wait): twice the pool, or at a capped rate a quarter of a second of sending. At
    5 msg/s, 16 rows kept ahead went up to 6 s after their suppression re-check, and a reader
    who unsubscribed meanwhile would still be mailed."""
    if config.rate <= 0:
        return 2 * config.pool_size
    return max(1, min(2 * config.pool_size, math.ceil(config.rate / 4)))


class FeedPace:
    """The feeding rate, measured from the outcomes recorded between feeds."""

    def __init__(self, config: DeliverConfig) -> None:
        self.floor = self.low_water = queue_floor(config)  # waiting items: feed below
        self._cap = config.rate if config.rate > 0 else math.inf  # a burst is not the rate
        self.recorded = 0  # outcomes so far
        self.held = 0  # items taken by a worker, waiting for a token of the drain's rate
        self._fed = (0.0, 0, 0.0)  # (loop time, outcomes, messages/s) at the last feed

    def low(self, queued: int) -> bool:
        """Whether the re-checked items not yet sending (queued, or held by a worker for the
        drain's rate) ran low: time to feed more."""
        return queued + self.held < self.low_water

    def chunk_size(self, now: float) -> int:
        """0.4 s of sending, fed again with a quarter left: a row goes at most about half a
        second after its suppression lookup, and the lookups stay few at thousands/s."""
        at, recorded, rate = self._fed
        if at and now > at:
            rate = 0.7 * rate + 0.3 * (self.recorded - recorded) / (now - at)
        self._fed = (now, self.recorded, rate)
        size = max(self.floor, min(500, int(min(rate, self._cap) * 0.4)))
        # Feed at a quarter left: the lookup may wait behind a claim on the database thread.
        self.low_water = max(self.floor, size // 4)
        return size
