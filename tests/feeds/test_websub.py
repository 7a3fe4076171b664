"""WebSub against a small hub started on 127.0.0.1: hub links, pings, durable retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.feeds.publish import run_feeds
from publisher.feeds.websub import PENDING_FILE
from publisher.store import articles as store_articles
from tests.feedsample import T0, article, load_sample


class Hub(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pings: list[dict[str, list[str]]] = []
        self.status = 204

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hub"


class _Handler(BaseHTTPRequestHandler):
    server: Hub

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
        if self.server.status < 300:
            self.server.pings.append(parse_qs(body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _pinged(hub: Hub) -> list[str]:
    assert all(p["hub.mode"] == ["publish"] for p in hub.pings)
    return sorted(p["hub.url"][0] for p in hub.pings)


def test_pings_changed_feeds_and_retries_failures(
    settings: Settings, engine: Engine, hub: Hub
) -> None:
    s = settings.model_copy(update={"websub_hubs": [hub.url]})
    load_sample(engine)
    base = "https://news.example.kr/newsletter/feeds/"

    run = run_feeds(s, engine, now=T0)
    assert run.pings.sent == 15 and run.pings.pending == 0
    assert len(_pinged(hub)) == 15 and base + "rss.xml" in _pinged(hub)
    for rel in ("rss.xml", "atom.xml"):
        assert f'href="{hub.url}" rel="hub"' in (Path(s.feeds_dir) / rel).read_text()
    assert hub.url in (Path(s.feeds_dir) / "feed.json").read_text()

    hub.pings.clear()
    assert run_feeds(s, engine, now=T0).pings.sent == 0  # nothing changed, nothing sent
    assert hub.pings == []

    hub.status = 503  # the hub is down while an article changes
    with engine.begin() as conn:
        store_articles.upsert_articles(conn, [article(2, title="정정")], now=T0)
    run = run_feeds(s, engine, now=T0)
    assert run.pings.sent == 0 and run.pings.failed == 9 and run.pings.pending == 9
    assert (Path(s.feeds_dir) / PENDING_FILE).exists()

    hub.status = 204  # back up: the next build, with no change, delivers what is pending
    run = run_feeds(s, engine, now=T0)
    assert run.pings.sent == 9 and run.pings.pending == 0
    # Article 2 is in the site feed, its section (environment) and the most viewed.
    assert _pinged(hub) == sorted(
        base + prefix + f
        for prefix in ("", "sections/environment/", "popular/")
        for f in ("rss.xml", "atom.xml", "feed.json")
    )


def test_unreachable_hub_never_raises(settings: Settings, engine: Engine, hub: Hub) -> None:
    dead = hub.url
    hub.shutdown()
    hub.server_close()
    s = settings.model_copy(update={"websub_hubs": [dead]})
    load_sample(engine)
    run = run_feeds(s, engine, now=T0)
    assert run.pings.sent == 0 and run.pings.pending == 15
    assert all(r.path for r in run.results)  # the feeds were still written
