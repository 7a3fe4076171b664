"""Helpers for source tests: settings with sources, article objects, file times."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from publisher.core.config import Settings, SourceConfig
from publisher.store import articles as store_articles
from publisher.store import sources as store_sources
from publisher.store.sources import SourceState
from tests.conftest import T0
from tests.httpkit import Answer, Seen, Server


def with_sources(settings: Settings, *sources: SourceConfig, **extra: Any) -> Settings:
    return settings.model_copy(update={"sources": list(sources), **extra})


def obj(n: int, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"cms-{n}",
        "url": f"https://news.example.kr/a/{n}",
        "title": f"기사 {n}",
        "published_at": (T0 - timedelta(hours=n)).isoformat(),
        "section": "politics",
    }
    base.update(kw)
    return base


def jsonl(*objs: dict[str, Any]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)


def touch(path: Path, at: datetime) -> None:
    os.utime(path, (at.timestamp(), at.timestamp()))


def state(engine: Engine, name: str) -> SourceState:
    with engine.connect() as conn:
        found = store_sources.get_state(conn, name)
    assert found is not None, f"no state for {name}"
    return found


def titles(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {a.external_id: a.title for a in store_articles.latest_articles(conn, limit=500)}


LAST_MODIFIED = "Mon, 23 Nov 2026 00:55:00 GMT"


def item(guid: str | None, link: str, title: str, date: str = "Mon, 23 Nov 2026 09:00:00 +0900",
         extra: str = "") -> str:  # fmt: skip
    g = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    body = f"<link>{link}</link><title>{title}</title><pubDate>{date}</pubDate>{extra}"
    return f"<item>{g}{body}</item>"


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>CMS</title>'
        "<link>https://news.example.kr/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


class Upstream:
    """A feed with a version: its ETag; conditional requests for the current one get 304."""

    def __init__(self, server: Server) -> None:
        self.version = "v1"
        self.body = rss()
        self.status = 200
        server.answer("/rss.xml", self.respond)

    def respond(self, seen: Seen) -> Answer:
        if self.status != 200:
            return Answer(self.status, b"upstream down")
        etag = f'"{self.version}"'
        if seen.headers.get("if-none-match") == etag:
            return Answer(304, headers={"ETag": etag})
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED,
                   "Content-Type": "application/rss+xml; charset=utf-8"}  # fmt: skip
        return Answer(200, self.body, headers)
