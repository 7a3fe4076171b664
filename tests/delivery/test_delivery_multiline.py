"""Body values may span lines (a share's note); header values may not (injection)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.delivery.drain import Drain
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from tests.outboxkit import BODY, statuses
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


async def test_multiline_body_value_arrives_intact_and_header_injection_fails(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    note = "첫 줄\r\n.점으로 시작하는 줄\r\n마지막 줄"
    with engine.begin() as conn:
        cid = store_content(conn, key="share:v1", kind="share", body=BODY, now=clock.now())
        base = {"%%UNSUBSCRIBE_URL%%": "https://news.example.kr/u/1"}
        enqueue(conn, [
            NewMessage("share:1", "share", "friend@example.kr", cid,
                       {**base, "%%TO%%": "friend@example.kr", "%%NAME%%": note}),
            NewMessage("share:2", "share", "other@example.kr", cid,
                       {**base, "%%TO%%": "other@example.kr\r\nBcc: victim@example.kr",
                        "%%NAME%%": "x"}),
        ], now=clock.now(), domain="news.example.kr")  # fmt: skip
    await make_drain(smtpd.url).run()
    assert statuses(engine) == {"sent": 1, "failed": 1}
    [(rcpt, data)] = smtpd.record.messages
    assert rcpt == "friend@example.kr"
    # The dot-led line survived SMTP's dot-stuffing both ways, and nothing was injected.
    assert note.encode() in data
    assert b"victim" not in data
