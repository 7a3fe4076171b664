"""A breaking-news alert's link is tracked like a digest's: delivered to a real SMTP server,
followed by readers and by a scanner, counted apart in the alert's history, moving 많이 본
뉴스 for the readers only, and never in a digest run's report."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import Engine

from publisher.alerts import send as alerts
from publisher.analytics.links import ClickLinks, alert_run, read_target
from publisher.analytics.report import run_report
from publisher.core import tokens
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.delivery.configured import build_drain
from publisher.digests import pipeline
from publisher.intake.pageviews import most_viewed
from publisher.store import pageviews as store_pageviews
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.alerts.alertkit import reader
from tests.digestkit import NOW, load_store, schedules
from tests.smtpserver import SmtpServer
from tests.webkit import UA

LINK = re.compile(r"https://news\.example\.kr/newsletter(/c/[A-Za-z0-9_.\-]+)")
KEY = "k" * 24


def _parts(raw: bytes) -> tuple[str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text, html = msg.get_body(preferencelist=("plain",)), msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def _views(engine: Engine, now: object, article_id: int) -> int:
    ranked = most_viewed(engine, now=now, window=timedelta(hours=24), limit=50)  # type: ignore[arg-type]
    return next((r.views for r in ranked if r.article.id == article_id), 0)


@pytest.mark.asyncio
async def test_an_alerts_link_is_counted_for_readers_and_scanners_apart(
    engine: Engine, settings: Settings
) -> None:
    server = await SmtpServer().start()
    s = settings.model_copy(update={"smtp_url": server.url, "api_keys": [KEY]})
    articles = load_store(engine)
    readers = [f"reader{i}@example.kr" for i in range(4)]
    for address in readers:
        reader(engine, address, alerts=True)
    # A digest run first, so that a run with the alert's id exists and must stay clean.
    run = pipeline.run_digest(engine, s, schedules(), "morning", now=NOW)
    sent = alerts.send(engine, s, "a0001", by="편집국", now=NOW)
    assert sent.recipients == 4 and run.run_id == sent.alert_id
    clock = FixedClock(NOW + timedelta(minutes=1))
    assert (await build_drain(s, engine, clock).run(until_empty=True)).sent == 8
    await server.stop()

    links = {}
    for rcpt, raw in server.record.messages:
        text, html = _parts(raw)
        if "[속보]" in str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"]):
            found = set(LINK.findall(text)) | set(LINK.findall(html))
            assert len(found) == 1, found  # the same tracked link in both parts
            links[rcpt] = found.pop()
    assert set(links) == set(readers)
    with engine.connect() as conn:
        alerted = store_pageviews.resolve_ids(conn, ["a0001"])["a0001"]
    before = _views(engine, clock.now(), alerted)

    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    app = create_app(s, context=ctx)

    def client(ip: str, ua: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test",
                                 headers={"User-Agent": ua, "X-API-Key": KEY})  # fmt: skip

    for n, rcpt in enumerate(readers):  # each gateway's scanner checks the link first
        async with client(f"192.0.2.{n + 1}", UA) as c:
            assert (await c.head(links[rcpt])).status_code == 302
    clock.advance(timedelta(minutes=20))
    for n, rcpt in enumerate(readers[:3]):  # three readers read the story
        async with client(f"198.51.100.{n + 1}", UA) as c:
            r = await c.get(links[rcpt])
            assert r.status_code == 302 and r.headers["location"] == articles[0].url
    await ctx.close()  # writes the buffered counts

    [(row, outbox, clicks)] = alerts.history_with_counts(engine)
    assert row.id == sent.alert_id and outbox == {"sent": 4}
    assert clicks == {"human": 3, "machine": 4}
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    async with client("198.51.100.9", UA) as c:
        shown = (await c.get("/api/alerts")).json()["alerts"][0]
    await ctx.close()
    assert shown["clicks"] == {"human": 3, "machine": 4}
    assert _views(engine, clock.now(), alerted) == before + 3  # the readers only
    assert run.run_id is not None
    report = run_report(engine, run.run_id)  # the digest run that shares the alert's id
    assert (report.human, report.machine) == (0, 0)


def test_an_alert_token_reads_as_its_negative_run_and_an_odd_one_is_refused(
    engine: Engine,
) -> None:
    links = ClickLinks(base_url="https://x.kr", secret="s" * 32, run_id=alert_run(7),
                       variant=1, now=NOW)  # fmt: skip
    token = links(42, 1).rsplit("/", 1)[1]
    assert read_target("s" * 32, token, now=NOW) == (-7, 1, 1, 42)
    odd = tokens.make("s" * 32, "click", (7, 1, 1, 42, 2), now=NOW)  # a fifth id we never make
    with pytest.raises(tokens.TokenError):
        read_target("s" * 32, odd, now=NOW)
    with pytest.raises(InputError):  # a digest run's report never answers for an alert
        run_report(engine, alert_run(7))
