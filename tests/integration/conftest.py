"""Delivery fixtures: a misbehaving aiosmtpd, an outbox with messages, a drain factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine, select

from publisher.core.clock import FixedClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.store.schema import outbox, suppressions
from tests.smtpserver import SmtpServer

BODY = (
    b"From: news@news.example.kr\r\nTo: %%TO%%\r\nSubject: =?utf-8?b?7ZWc67mb?=\r\n"
    b"Message-ID: %%MESSAGE_ID%%\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    + "안녕하세요 %%NAME%%\r\n".encode()
    + b".a line that starts with a dot\r\n"
    + b"x" * 900
    + b"\r\nUnsubscribe: %%UNSUBSCRIBE_URL%%\r\n"
)


def fill(
    engine: Engine,
    clock: FixedClock,
    n: int,
    *,
    kind: str = "digest",
    domain: str = "example.kr",
    expires_in: timedelta = timedelta(hours=24),
) -> None:
    with engine.begin() as conn:
        cid = store_content(conn, key=f"{kind}:v1", kind=kind, body=BODY, now=clock.now())
        enqueue(conn, [
            NewMessage(dedupe_key=f"{kind}:run1:subscriber:{i}", kind=kind,
                       recipient=f"user{i}@{domain}", content_id=cid,
                       substitutions={"%%TO%%": f"user{i}@{domain}", "%%NAME%%": f"독자{i}",
                                      "%%UNSUBSCRIBE_URL%%": f"https://news.example.kr/u/{i}"},
                       expires_in=expires_in)
            for i in range(n)
        ], now=clock.now(), domain="news.example.kr")  # fmt: skip


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        out: dict[str, int] = {}
        for (s,) in conn.execute(select(outbox.c.status)):
            out[s] = out.get(s, 0) + 1
        return out


def suppressed(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        q = select(suppressions.c.email, suppressions.c.reason)
        return [(e, r) for e, r in conn.execute(q)]


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
