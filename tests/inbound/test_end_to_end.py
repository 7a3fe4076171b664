"""Done means: a digest sent through a relay whose bounces come back later, as DSNs into a
Maildir, ends with those addresses suppressed, and the next run skips them.

The relay (a real aiosmtpd, tests/smtpserver.py) accepts every message, as a smarthost does;
afterwards it generates an RFC 3464 DSN to each doomed message's envelope sender (our VERP
address) into the Maildir the local MTA delivers bounces to."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.configured import build_drain
from publisher.digests import pipeline
from publisher.inbound.maildir import ensure
from publisher.store import articles as store_articles
from tests.digestkit import NOW, add_subscriber, article, load_store, schedules
from tests.inbound import mailkit
from tests.inbound.inboundkit import inbound_env, suppressed
from tests.smtpserver import Record, SmtpServer

runner = CliRunner()
DOOMED = {"reader01@example.kr", "reader04@example.kr", "reader07@example.kr"}


def relay_dsns(record: Record, maildir: Path, doomed: set[str]) -> int:
    """What the relay does once the remote MX refuses: a DSN to the envelope sender."""
    n = 0
    for (rcpt, data), sender in zip(record.messages, record.senders, strict=True):
        if rcpt in doomed:
            mid = str(email.message_from_bytes(data)["Message-ID"])
            dsn = mailkit.postfix_dsn(sender, rcpt, message_id=mid, mid=f"<dsn{n}@relay>")
            (maildir / "new" / f"17000000{n}.relay.host").write_bytes(dsn)
            n += 1
    return n


@pytest.mark.asyncio
async def test_dsns_from_the_relay_suppress_and_the_next_run_skips_them(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = ensure(tmp_path / "bounces")
    sources = [{"kind": "maildir", "name": "relay", "path": str(box)}]
    inbound_env(settings, tmp_path, monkeypatch, INBOUND_SOURCES=json.dumps(sources))
    server = await SmtpServer().start()
    s = settings.model_copy(update={"smtp_url": server.url, "bounce_address":
                                    "bounces@news.example.kr"})  # fmt: skip
    load_store(engine)
    for i in range(10):
        add_subscriber(engine, f"reader{i:02d}@example.kr")
    first = pipeline.run_digest(engine, s, schedules(), "morning", now=NOW)
    assert first.enqueued == 10
    report = await build_drain(s, engine, FixedClock(NOW)).run(until_empty=True)
    assert report.sent == 10
    assert all(x.startswith("bounces+") for x in server.record.senders)
    assert relay_dsns(server.record, box, DOOMED) == 3

    polled = runner.invoke(app, ["inbound", "poll"])
    assert polled.exit_code == 0 and "relay: 3 processed, 0 unmatched" in polled.output
    assert suppressed(engine) == dict.fromkeys(DOOMED, "hard_bounce")
    hist = runner.invoke(app, ["digest", "history", "morning"]).output.splitlines()
    assert hist[1].endswith("\t3\t0\t0\t0.00%")

    later = NOW + timedelta(days=1)
    fresh = [article(100 + i, "politics", published=later - timedelta(hours=2)) for i in range(3)]
    with engine.begin() as conn:
        store_articles.upsert_articles(conn, fresh, now=later - timedelta(hours=1))
    server.record.messages.clear()
    server.record.senders.clear()
    second = pipeline.run_digest(engine, s, schedules(), "morning", now=later)
    assert second.status == "enqueued" and second.enqueued == 7
    report = await build_drain(s, engine, FixedClock(later)).run(until_empty=True)
    await server.stop()
    assert report.sent == 7
    assert not DOOMED & set(server.record.recipients())
