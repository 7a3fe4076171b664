"""Two drains on one PostgreSQL outbox: SKIP LOCKED means no message goes out twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from publisher.core.clock import FixedClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.outboxkit import fill, statuses
from tests.smtpserver import SmtpServer


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_two_drains_on_postgres_never_send_twice(pg_url: str, clock: FixedClock) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    fill(engine, clock, 600)
    server = await SmtpServer().start()
    config = DeliverConfig(sender="b@news.example.kr", pool_size=4, mark_batch=10,
                           grace=timedelta(seconds=5))  # fmt: skip
    drains = [
        Drain(engine, Mailer(server.url, pool_size=4), clock, config=config) for _ in range(2)
    ]
    try:
        reports = await asyncio.gather(*(d.run() for d in drains))
        assert statuses(engine) == {"sent": 600}
    finally:
        await server.stop()
        engine.dispose()
    assert all(r.sent > 0 for r in reports)  # both really worked
    assert sum(r.sent for r in reports) == 600
    received = server.record.recipients()
    assert len(received) == 600 and set(received.values()) == {1}
