"""The drain against a real aiosmtpd on 127.0.0.1, made to misbehave."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from publisher.clock import FixedClock
from publisher.deliver import Drain
from tests.integration.conftest import fill, statuses, suppressed
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


async def test_pipelined_delivery_personalises_each_message(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 30)
    report = await make_drain(smtpd.url).run()
    assert report.sent == 30 and report.ok
    assert statuses(engine) == {"sent": 30}
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(30)}
    assert len(smtpd.record.message_ids()) == 30
    rcpt, data = smtpd.record.messages[0]
    msg = email.message_from_bytes(data)
    n = rcpt.removeprefix("user").split("@")[0]
    assert msg["To"] == rcpt
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert f"안녕하세요 독자{n}".encode() in body
    assert b"\r\n.a line that starts with a dot" in data  # dot-stuffing undone by the server
    assert f"https://news.example.kr/u/{n}".encode() in body
    # Envelope (MAIL, RCPT, DATA) went in one write: one grouped read per message.
    assert smtpd.record.grouped == 30
