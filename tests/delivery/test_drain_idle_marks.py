"""A forever drain (the daemon's) commits its last sent marks when the outbox runs dry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.delivery.drain import Drain
from tests.outboxkit import fill, statuses
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


async def test_sent_rows_below_the_mark_batch_are_marked_while_the_drain_keeps_running(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 3)  # fewer than mark_batch (10): no batch ever fills up
    drain = make_drain(smtpd.url)
    task = asyncio.create_task(drain.run(until_empty=False))
    try:
        async with asyncio.timeout(10):
            while statuses(engine) != {"sent": 3}:
                # Before the fix they stayed `sending` until the drain stopped, and a lease
                # expiry meanwhile would have sent them again.
                assert not task.done()
                await asyncio.sleep(0.05)  # polling for a condition, not timing anything
        assert len(smtpd.record.messages) == 3
    finally:
        drain.stop()
        await asyncio.wait_for(task, 10)
