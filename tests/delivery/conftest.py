"""Delivery fixtures: a misbehaving aiosmtpd and a drain factory (outbox: tests/outboxkit.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from tests.smtpserver import SmtpServer


@pytest_asyncio.fixture
async def smtpd() -> AsyncIterator[SmtpServer]:
    server = await SmtpServer().start()
    yield server
    await server.stop()


@pytest.fixture
def make_drain(engine: Engine, clock: FixedClock) -> Callable[..., Drain]:
    def make(
        url: str,
        *,
        pool: int = 2,
        data_timeout: float = 10.0,
        threshold: int = 5,
        mailer_kw: dict[str, Any] | None = None,
        transform: Callable[[bytes], bytes] | None = None,
        **cfg: Any,
    ) -> Drain:
        mailer = Mailer(
            url,
            pool_size=pool,
            connect_timeout=5,
            command_timeout=5,
            data_timeout=data_timeout,
            **(mailer_kw or {}),
        )
        config = DeliverConfig(
            sender="bounces@news.example.kr",
            pool_size=pool,
            mark_batch=10,
            breaker_threshold=threshold,
            grace=timedelta(seconds=5),
            **cfg,
        )
        return Drain(engine, mailer, clock, config=config, transform=transform)

    return make
