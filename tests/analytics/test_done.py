"""Issue 16's "Done means": a digest delivered to a real SMTP server, its links followed by
an HTTP client as readers and as a scanner, a report with people and machines apart, and a
most-viewed ranking moved by the people only."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from publisher.analytics.report import run_report
from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.configured import build_drain
from publisher.delivery.dkimsign import verify
from publisher.digests import pipeline
from publisher.intake.pageviews import most_viewed
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, add_subscriber, load_store, schedules
from tests.smtpserver import SmtpServer
from tests.webkit import UA

LINK = re.compile(r"https://news\.example\.kr/newsletter(/c/[A-Za-z0-9_.\-]+)")
SCANNER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Mimecast-URL-Protect/1.0"


def _text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _top(engine: Engine, now: object) -> list[int]:
    ranked = most_viewed(engine, now=now, window=timedelta(hours=24), limit=5)  # type: ignore[arg-type]
    return [r.article.id or 0 for r in ranked]


@pytest.mark.asyncio
async def test_delivered_digest_clicked_by_readers_and_a_scanner(
    engine: Engine, settings: Settings, tmp_path: Path, keypair: tuple[bytes, bytes]
) -> None:
    private, record = keypair
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(private)
    server = await SmtpServer().start()
    s = settings.model_copy(update={
        "smtp_url": server.url, "dkim_selector": "news", "dkim_domain": "news.example.kr",
        "dkim_private_key_file": str(key_file), "api_keys": ["k" * 24],
    })  # fmt: skip
    load_store(engine)
    readers = [f"reader{i:02d}@example.kr" for i in range(30)]
    for address in readers:
        add_subscriber(engine, address)  # every section: one variant, the same links
    result = pipeline.run_digest(engine, s, schedules(), "morning", now=NOW)
    assert result.enqueued == 30 and result.run_id is not None
    clock = FixedClock(NOW + timedelta(minutes=5))
    drain = build_drain(s, engine, clock, transform=App(settings=s, clock=clock).dkim_transform())
    assert (await drain.run(until_empty=True)).sent == 30
    await server.stop()

    received: dict[str, list[str]] = {}
    for rcpt, raw in server.record.messages:
        assert verify(raw, dnsfunc=lambda name, timeout=5: record), rcpt  # links signed intact
        received[rcpt] = LINK.findall(_text(raw))
    assert set(received) == set(readers)
    links = received[readers[0]]
    assert len(links) > 10

    before = _top(engine, clock.now())
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    app = create_app(s, context=ctx)

    def client(ip: str, ua: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test",
                                 headers={"User-Agent": ua})  # fmt: skip

    # The scanner at each reader's gateway opens every link of the message as it arrives;
    # half of them say so, the other half pose as a browser (caught by the burst rule).
    for n, rcpt in enumerate(readers):
        async with client(f"192.0.2.{n + 1}", SCANNER if n % 2 else UA) as c:
            for link in received[rcpt]:
                assert (await c.get(link)).status_code == 302
    # Twenty-five readers, later, open the sixth link: an article just outside the top 5
    # (950 page views; the fifth has 960).
    clock.advance(timedelta(hours=1))
    target = links[5]
    for n, rcpt in enumerate(readers[:25]):
        async with client(f"198.51.100.{n + 1}", UA) as c:
            r = await c.get(received[rcpt][5])
            assert r.status_code == 302 and r.headers["location"].startswith(
                "https://news.example.kr/article/"
            )
    await ctx.close()  # writes the buffered counts

    report = run_report(engine, result.run_id)
    assert report.delivery.delivered == 30 and report.delivery.bounces == 0
    assert report.human == 25
    assert report.machine == 30 * len(links)
    assert report.machine_by_reason == {"scanner-agent": 15 * len(links), "burst": 15 * len(links)}
    assert 23 <= report.unique_clicks_estimate <= 27
    sixth = next(p for p in report.positions if p.key == "6")
    assert (sixth.human, sixth.machine, sixth.rate) == (25, 30, round(25 / 30, 4))
    assert all(p.human == 0 for p in report.positions if p.key != "6")

    after = _top(engine, clock.now())
    clicked = int(re.search(r"-(\d+)\.", target.split("/")[2]).group(1))  # type: ignore[union-attr]
    assert clicked not in before and clicked in after
    # The scanners' thirty opens of every article moved nothing else.
    assert [a for a in after if a != clicked] == before[: len(after) - 1]
