"""IndexNow against a real loopback receiver that checks the protocol's JSON body and fetches
the key file from the real app at keyLocation: batching, dedup, and the 4xx rules."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.core.httpclient import HttpClient
from publisher.feeds.build import FeedBuilder
from publisher.intake.articles import set_status, write_articles
from publisher.store import events as store_events
from publisher.syndication import indexnow
from publisher.web.app import create_app
from tests.feedsample import T0, article, sample_articles
from tests.syndication.receiver import Received, Receiver, receiver

KEY = "0f3c1d2e4b5a69788796a5b4c3d2e1f0"


class Checker:
    """What the receiver does on each POST: check the body, fetch the key file."""

    def __init__(self, settings: Settings) -> None:
        self.app = TestClient(create_app(settings))
        self.bodies: list[dict[str, Any]] = []
        self.problems: list[str] = []

    def __call__(self, got: Received) -> int | None:
        if got.headers.get("content-type") != "application/json; charset=utf-8":
            self.problems.append(f"content-type {got.headers.get('content-type')}")
        body = json.loads(got.body)
        self.bodies.append(body)
        if set(body) != {"host", "key", "keyLocation", "urlList"}:
            self.problems.append(f"keys {sorted(body)}")
        urls = body["urlList"]
        if not 1 <= len(urls) <= 10_000:
            self.problems.append(f"{len(urls)} URLs")
        if any(urlsplit(u).hostname != body["host"] for u in urls):
            self.problems.append("a URL of another host")
        location = urlsplit(body["keyLocation"])
        if location.hostname != body["host"]:
            self.problems.append("keyLocation on another host")
        served = self.app.get(location.path)
        if served.status_code != 200 or served.text != body["key"]:
            return 403  # what a search engine answers when the key file does not match
        return None  # the receiver's queue of statuses decides


@pytest.fixture
def hub(settings: Settings) -> Iterator[tuple[Receiver, Checker, Settings]]:
    with receiver("/indexnow") as r:
        s = settings.model_copy(update={"indexnow_endpoints": [r.url], "indexnow_key": KEY})
        checker = Checker(s)
        r.on_request = checker
        yield r, checker, s


def _run(s: Settings, engine: Engine, minutes: float = 0) -> indexnow.IndexNowReport:
    with HttpClient(timeout=5) as http:
        return indexnow.submit_indexnow(s, engine, http, now=T0 + timedelta(minutes=minutes))


def test_changed_articles_are_submitted_once(
    engine: Engine, hub: tuple[Receiver, Checker, Settings]
) -> None:
    r, checker, s = hub
    write_articles(engine, sample_articles()[:3], now=T0)
    write_articles(engine, [article(1, title="정정")], now=T0)  # the same URL again
    set_status(engine, sample_articles()[2].external_id, "retracted", now=T0)
    report = _run(s, engine)
    assert not checker.problems
    assert (report.submitted, report.waiting) == (3, 0)
    assert len(checker.bodies) == 1
    body = checker.bodies[0]
    assert body["host"] == "news.example.kr" and body["key"] == KEY
    assert body["keyLocation"] == f"https://news.example.kr/{KEY}.txt"
    assert sorted(body["urlList"]) == sorted(a.url for a in sample_articles()[:3])
    assert _run(s, engine, 1).submitted == 0 and len(r.requests) == 1
    assert (Path(s.feeds_dir) / f"{KEY}.txt").read_text() == KEY  # for nginx


def test_batches_of_ten_thousand(engine: Engine, hub: tuple[Receiver, Checker, Settings]) -> None:
    _, checker, s = hub
    with engine.begin() as conn:
        store_events.record_events(
            conn,
            [("article.published", f"a{n}", {"url": f"https://news.example.kr/a/{n}"})
             for n in range(10_001)],
            now=T0,
        )  # fmt: skip
    report = _run(s, engine)
    assert not checker.problems
    assert [len(b["urlList"]) for b in checker.bodies] == [10_000, 1]
    assert report.submitted == 10_001


def test_403_stops_until_the_key_changes(
    engine: Engine, hub: tuple[Receiver, Checker, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    r, checker, s = hub
    r.statuses = [403]
    write_articles(engine, sample_articles()[:1], now=T0)
    with caplog.at_level(logging.ERROR):
        assert _run(s, engine).submitted == 0
    assert any("403 key not valid" in rec.getMessage() for rec in caplog.records)
    write_articles(engine, sample_articles()[1:2], now=T0)
    assert _run(s, engine, 30).submitted == 0 and len(r.requests) == 1  # stopped
    assert indexnow.status(s, engine)[0].queued == 2
    fixed = s.model_copy(update={"indexnow_key": "new-key-abcdef12"})
    checker.app = TestClient(create_app(fixed))  # the site now serves the new key file
    assert _run(fixed, engine, 31).submitted == 2  # a new key is tried at once


def test_a_wrong_key_file_is_refused_by_the_receiver(
    engine: Engine, hub: tuple[Receiver, Checker, Settings]
) -> None:
    _, checker, s = hub
    checker.app = TestClient(create_app(s.model_copy(update={"indexnow_key": "other-key-1234"})))
    write_articles(engine, sample_articles()[:1], now=T0)
    assert _run(s, engine).submitted == 0
    assert indexnow.status(s, engine)[0].refused_key == KEY


def test_422_drops_and_429_waits(engine: Engine, hub: tuple[Receiver, Checker, Settings]) -> None:
    r, _, s = hub
    r.statuses = [422]
    write_articles(engine, sample_articles()[:1], now=T0)
    report = _run(s, engine)
    assert (report.submitted, report.dropped, report.waiting) == (0, 1, 0)

    r.statuses = [429, 500]
    write_articles(engine, sample_articles()[1:2], now=T0)
    assert _run(s, engine, 1).submitted == 0  # 429: the backoff (1 min) before trying again
    assert _run(s, engine, 1.5).submitted == 0 and len(r.requests) == 2
    assert _run(s, engine, 2.1).submitted == 0 and len(r.requests) == 3  # 500: 2 min now
    assert _run(s, engine, 3).submitted == 0 and len(r.requests) == 3
    assert _run(s, engine, 4.2).submitted == 1 and len(r.requests) == 4
    assert indexnow.status(s, engine)[0].failures == 0


def test_nothing_configured_sends_nothing(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles()[:1], now=T0)
    assert _run(settings, engine) == indexnow.IndexNowReport(0, 0, 0, 0)


def test_key_and_endpoints_are_checked() -> None:
    with pytest.raises(ValueError, match="indexnow_key: required"):
        Settings(indexnow_endpoints=["https://www.bing.com/indexnow"])
    with pytest.raises(ValueError, match="8 to 128"):
        Settings(indexnow_key="short")


def test_the_feed_build_writes_the_key_file_for_nginx(settings: Settings, engine: Engine) -> None:
    s = settings.model_copy(update={"indexnow_key": KEY})
    FeedBuilder(s, engine).build_syndication(now=T0)
    assert (Path(s.feeds_dir) / f"{KEY}.txt").read_text() == KEY
    app = TestClient(create_app(s))
    assert app.get(f"/{KEY}.txt").text == KEY
    assert app.get(f"/feeds/{KEY}.txt").status_code == 404  # only at the root, as IndexNow wants
    assert TestClient(create_app(settings)).get(f"/{KEY}.txt").status_code == 404  # no key set
