"""A diagnostic for bench/deliver.py ``--memory-claims``: the drain with no database work while
it sends. Every row is claimed beforehand (by the real store, before the clock starts); during
the run claims come from memory and marks and re-checks do nothing. The rate this reaches is
the drain's ceiling without its database: what the database work costs the drain is the
difference, on this machine.
"""

from __future__ import annotations

import random
import uuid

from publisher.core.clock import Clock
from publisher.delivery.drainstore import DeliverConfig, DrainStore, Report
from publisher.delivery.leaseholder import this_holder
from publisher.delivery.smtpwire import Outcome
from publisher.messages.enqueue import Claimed
from publisher.store.types import Engine


class MemoryClaims:
    """The drain's store side (delivery/ports.DrainOutbox) over rows claimed beforehand."""

    def __init__(self, real: DrainStore) -> None:
        self.owner, self.report = real.owner, Report()
        self._rows: list[Claimed] = []
        self._bodies: dict[int, bytes] = {}
        while True:
            got, bodies = real.claim(500, set(self._bodies))
            if not got:
                break
            self._rows += got
            self._bodies.update(bodies)
        self._rows.reverse()  # popped from the end, in claim order

    def claim(self, limit: int, known: set[int]) -> tuple[list[Claimed], dict[int, bytes]]:
        taken = [self._rows.pop() for _ in range(min(limit, len(self._rows)))]
        return taken, {k: v for k, v in self._bodies.items() if k not in known}

    def recheck(self, items: list[Claimed]) -> list[Claimed]:
        return items

    def content(self, content_id: int) -> bytes:
        return self._bodies[content_id]

    def apply(self, sent: list[int], others: list[tuple[Claimed, Outcome]]) -> None:
        pass

    def postpone(self, item: Claimed, reply: str) -> None:
        pass

    def unanswered(self, items: list[Claimed]) -> None:
        pass

    def release(self, ids: list[int]) -> None:
        pass

    def renew(self) -> set[int]:
        return set()

    def free_dead(self) -> int:
        return 0


def memory_store(engine: Engine, clock: Clock, config: DeliverConfig) -> MemoryClaims:
    """Claim every row of ``engine``'s outbox now; the store the drain then runs on."""
    owner = uuid.uuid4().hex[:16]
    real = DrainStore(engine, clock, config, owner, Report(), random.Random(), this_holder())
    return MemoryClaims(real)
