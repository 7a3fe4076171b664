"""The event log: each change records its event in the change's own transaction, with a
stable id; record_event for other packages (bounce, complaint)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine, select

from publisher.core import tokens
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.intake.articles import latest_articles, set_status, write_articles
from publisher.store import events as store_events
from publisher.store.schema import subscribers
from publisher.store.syndicationschema import events
from publisher.syndication.events import record_event
from tests.digestkit import NOW, add_subscriber, load_store, schedules
from tests.feedsample import T0, article, sample_articles
from tests.webkit import Web, link_in, message_of, open_web, outbox_rows, web_settings


def _events(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(select(events).order_by(events.c.id))
        return [(r.type, r.subject, json.loads(r.payload)) for r in rows]


def test_article_events(engine: Engine) -> None:
    write_articles(engine, sample_articles()[:2], now=T0)
    write_articles(engine, sample_articles()[:2], now=T0)  # unchanged: no event
    write_articles(engine, [article(1, title="정정: 새 제목")], now=T0 + timedelta(minutes=1))
    set_status(engine, sample_articles()[1].external_id, "retracted", now=T0)
    set_status(engine, sample_articles()[1].external_id, "retracted", now=T0)  # no change
    got = [(t, s) for t, s, _ in _events(engine)]
    a1, a2 = (a.external_id for a in sample_articles()[:2])
    assert got == [
        ("article.published", a1), ("article.published", a2), ("article.updated", a1),
        ("article.retracted", a2),
    ]  # fmt: skip
    data = _events(engine)[2][2]
    assert data["title"] == "정정: 새 제목" and data["url"] == sample_articles()[0].url


def test_the_event_and_the_change_commit_together(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kw: object) -> int:
        raise RuntimeError("the event log is full")

    monkeypatch.setattr(store_events, "record_events", broken)
    with pytest.raises(RuntimeError):
        write_articles(engine, sample_articles()[:1], now=T0)
    assert latest_articles(engine, limit=10) == []  # no article without its event
    monkeypatch.undo()
    write_articles(engine, sample_articles()[:1], now=T0)
    monkeypatch.setattr(store_events, "record_event", broken)
    with pytest.raises(RuntimeError):
        set_status(engine, sample_articles()[0].external_id, "retracted", now=T0)
    assert latest_articles(engine, limit=10)[0].status == "published"


def test_record_event_for_other_packages(engine: Engine) -> None:
    first = record_event(engine, "bounce", "reader@example.kr", {"kind": "hard"}, now=T0)
    with engine.begin() as conn:
        second = record_event(conn, "complaint", "reader@example.kr", {}, now=T0)
    assert first.startswith("evt_") and second.startswith("evt_") and first != second
    assert [t for t, _, _ in _events(engine)] == ["bounce", "complaint"]


def test_digest_run_sent(settings: Settings, engine: Engine) -> None:
    load_store(engine)
    add_subscriber(engine, "reader@example.kr")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.status == "enqueued"
    sent = [(s, d) for t, s, d in _events(engine) if t == "digest.run.sent"]
    assert len(sent) == 1
    subject, data = sent[0]
    assert subject == f"morning/{result.run_id}" and data["recipients"] == 1
    pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)  # already ran
    assert len([t for t, _, _ in _events(engine) if t == "digest.run.sent"]) == 1


@pytest_asyncio.fixture
async def web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    async for w in open_web(web_settings(settings), engine, clock):
        yield w


@pytest.mark.asyncio
async def test_subscriber_confirmed_and_unsubscribed(web: Web) -> None:
    form = {"email": "reader@example.kr", "name": "김독자", "sections": ["politics"],
            "frequency": "daily"}  # fmt: skip
    await web.client.post("/subscribe", data=form)
    confirm = link_in(message_of(web.engine, outbox_rows(web.engine, "confirm")[0]), "confirm")
    assert (await web.client.post(confirm)).status_code == 200
    with web.engine.connect() as conn:
        sid = conn.execute(
            select(subscribers.c.id).where(subscribers.c.email == "reader@example.kr")
        ).scalar_one()
    token = tokens.make(web.settings.secret_key, "unsubscribe", (sid,), now=web.clock.now())
    assert (await web.client.post("/u/" + token)).status_code == 200
    assert (await web.client.post("/u/" + token)).status_code == 200  # again: no second event
    got = [(t, s, d) for t, s, d in _events(web.engine) if t.startswith("subscriber.")]
    assert [(t, s) for t, s, _ in got] == [
        ("subscriber.confirmed", str(sid)), ("subscriber.unsubscribed", str(sid)),
    ]  # fmt: skip
    assert got[0][2] == {"subscriber_id": sid, "email": "reader@example.kr"}
