"""At a capped rate, few rows wait between their last suppression lookup and their send: a
reader who unsubscribes while a slow run goes on is not mailed seconds later."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from publisher.core.clock import FixedClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.feedpace import queue_floor
from publisher.delivery.ratelimit import Limit
from publisher.messages.enqueue import Claimed
from tests.delivery.test_drain_ports import NOW, MemoryOutbox, RecordingTransport, _row


@dataclass
class WatchedOutbox(MemoryOutbox):
    """Records, at each re-check, how many rows were re-checked and not yet sent."""

    inbox: list[tuple[str, bytes]] = field(default_factory=list)  # the transport's
    ahead: list[int] = field(default_factory=list)
    checked: int = 0

    def recheck(self, items: list[Claimed]) -> list[Claimed]:
        self.checked += len(items)
        self.ahead.append(self.checked - len(self.inbox))
        return items


def test_a_capped_drain_rechecks_only_about_half_a_second_ahead() -> None:
    store = WatchedOutbox([_row(i, f"r{i}@example.kr") for i in range(1, 9)])
    config = DeliverConfig(sender="news@example.kr", pool_size=8, rate=8, mark_batch=1)
    transport = RecordingTransport(store.inbox)
    drain = Drain(None, transport, FixedClock(NOW), config=config, store=store)
    report = asyncio.run(drain.run())
    assert report.sent == 8
    # Half a second at 8/s is 4 rows. Before: twice the pool (16) were re-checked at once,
    # so all 8 rows here, the last sent a second after its re-check.
    assert max(store.ahead) <= 4, store.ahead


def test_an_uncapped_drain_keeps_twice_the_pool_ahead() -> None:
    assert queue_floor(DeliverConfig(sender="a@example.kr", pool_size=8)) == 16
    assert queue_floor(DeliverConfig(sender="a@example.kr", pool_size=8, rate=5)) == 2
    assert queue_floor(DeliverConfig(sender="a@example.kr", pool_size=8, rate=0.2)) == 1
    assert queue_floor(DeliverConfig(sender="a@example.kr", pool_size=2, rate=1000)) == 4


def test_rows_waiting_for_a_slow_domain_do_not_stop_the_rest() -> None:
    """Only a wait for the drain's own rate counts as a row kept ahead: rows held back by a
    domain's limit (one connection, one message in ten seconds) leave the others flowing."""
    slow = [_row(i, f"s{i}@slow.kr") for i in range(1, 7)]
    fast = [_row(i, f"f{i}@fast.kr") for i in range(7, 17)]
    store = WatchedOutbox(slow + fast)
    transport = RecordingTransport(store.inbox)
    config = DeliverConfig(
        sender="news@example.kr", pool_size=8, rate=20, mark_batch=1,
        domain_limits={"slow.kr": Limit(rate=0.1, connections=1)},
        grace=timedelta(milliseconds=100),  # the slow rows' workers are not waited for
    )  # fmt: skip
    drain = Drain(None, transport, FixedClock(NOW), config=config, store=store)
    asyncio.run(drain.run(max_seconds=2))
    sent = {r for r, _ in transport.inbox}
    # Before: five rows waiting for slow.kr stopped the feeding; fast.kr got nothing.
    assert {f"f{i}@fast.kr" for i in range(7, 17)} <= sent
    assert len(sent & {f"s{i}@slow.kr" for i in range(1, 7)}) == 1
