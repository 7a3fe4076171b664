"""Token buckets for politeness: a global rate and one per recipient domain."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass


class Bucket:
    """``rate`` per second with a small burst; rate 0 means unlimited.

    A taker that finds no token reserves the next one (the count goes negative) and sleeps
    until it is due, so concurrent takers queue in order without polling.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.capacity
        self._at = time.monotonic()

    def try_take(self) -> bool:
        """Take a token only if one is available now."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def take(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self.rate)


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float
    connections: int


class DomainLimits:
    """Per-domain buckets and concurrency caps; domains not listed share only the global rate."""

    def __init__(self, limits: Mapping[str, Limit]) -> None:
        self._buckets = {d.lower(): Bucket(lim.rate) for d, lim in limits.items()}
        self._slots = {d.lower(): asyncio.Semaphore(lim.connections) for d, lim in limits.items()}

    def limited(self, domain: str) -> bool:
        return domain in self._slots

    def slots(self, domain: str) -> asyncio.Semaphore | None:
        return self._slots.get(domain)

    def bucket(self, domain: str) -> Bucket | None:
        return self._buckets.get(domain)


class Permits:
    """What a message waits for before it goes: its domain's connection slot and rate tokens,
    then a token of the global rate."""

    def __init__(self, rate: float, limits: Mapping[str, Limit]) -> None:
        self._bucket = Bucket(rate)
        self._domains = DomainLimits(limits)
        # Nothing ever waits (no rate, no domain limits): callers need not even work out the
        # recipient's domain.
        self.open = rate <= 0 and not limits

    async def take(self, domain: str) -> asyncio.Semaphore | None:
        """Wait for the permits of one message to ``domain``; returns its slot (to release
        once the message is sent), None where the domain has no connection cap."""
        slot = await self.take_domain(domain)
        await self.take_rate()
        return slot

    async def take_domain(self, domain: str) -> asyncio.Semaphore | None:
        """The domain's part of ``take``: its connection slot, then its rate token."""
        slot = self._domains.slots(domain)
        if slot is not None:
            await slot.acquire()
        bucket = self._domains.bucket(domain)
        if bucket is not None:
            await bucket.take()
        return slot

    async def take_rate(self) -> None:
        """The global part of ``take``: a token of the whole drain's rate."""
        await self._bucket.take()

    def take_now(self, domain: str) -> bool:
        """Take the permits of a message that may go with no wait (no domain limit)."""
        return not self._domains.limited(domain) and self._bucket.try_take()
