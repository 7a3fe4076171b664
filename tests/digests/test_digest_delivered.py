"""The whole digest path: store → run → outbox → drain → a real SMTP server, DKIM-signed.

Each of 50 subscribers with different section choices receives exactly one message at the
server, with their own sections, their own unsubscribe link, and a signature that verifies.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.configured import build_drain
from publisher.delivery.dkimsign import verify
from publisher.digests import pipeline
from tests.digestkit import NOW, add_subscriber, load_store, schedules
from tests.smtpserver import SmtpServer

SLUGS = ["politics", "economy", "society", "world", "sports", "culture"]


@pytest.mark.asyncio
async def test_fifty_subscribers_receive_their_own_signed_digest(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    keypair: tuple[bytes, bytes],
) -> None:
    private, public_record = keypair
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(private)
    server = await SmtpServer().start()
    s = settings.model_copy(
        update={
            "smtp_url": server.url,
            "dkim_selector": "news",
            "dkim_domain": "news.example.kr",
            "dkim_private_key_file": str(key_file),
        }
    )
    made = load_store(engine, per_section=2)
    wanted: dict[str, tuple[str, ...]] = {}
    for i in range(50):
        chosen = tuple(x for k, x in enumerate(SLUGS) if (i >> k) & 1) if i % 7 else ()
        wanted[f"reader{i:02d}@example.kr"] = chosen
        add_subscriber(engine, f"reader{i:02d}@example.kr", chosen, name=f"독자{i}")
    result = pipeline.run_digest(engine, s, schedules(), "morning", now=NOW)
    assert result.enqueued == 50

    app = App(settings=s, clock=FixedClock(NOW))
    drain = build_drain(s, engine, app.clock, transform=app.dkim_transform())
    report = await drain.run(until_empty=True)
    await server.stop()
    assert report.sent == 50

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return public_record if name == b"news._domainkey.news.example.kr." else b""

    assert server.record.recipients() == {r: 1 for r in wanted}
    unsubscribe_links = set()
    for rcpt, raw in server.record.messages:
        assert verify(raw, dnsfunc=dns), rcpt
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        text_part = msg.get_body(preferencelist=("plain",))
        assert text_part is not None
        listed = str(text_part.get_content()).split("== 많이 본 뉴스 ==")[0]
        for a in made:
            expect = not wanted[rcpt] or a.section in wanted[rcpt]
            assert (a.title in listed) == expect, (rcpt, a.title)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe_links.add(str(msg["List-Unsubscribe"]))
    assert len(unsubscribe_links) == 50
