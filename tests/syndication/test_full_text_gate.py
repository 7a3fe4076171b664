"""`feed_full_text = false` keeps the full text out of every public syndication channel: the
ninjs API (HTTP against the real app) without an API key and the partner MRSS feed. With the
API key, a licensing partner still gets the full body; documents validate against ninjs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.feeds.build import FeedBuilder
from publisher.intake.articles import write_articles
from publisher.web.app import create_app
from tests.feedsample import T0, article, sample_articles
from tests.syndication.test_ninjs import check

KEY = "partner-key-0123456789abcdef"
ARTICLE = "20261123-0002"
BODY = "본문 2 첫 문단."
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


def summaries_only(settings: Settings, **more: object) -> Settings:
    return settings.model_copy(update={"feed_full_text": False, "api_keys": [KEY], **more})


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def bodies(doc: dict[str, object]) -> str:
    return repr(doc.get("bodies", ""))


@pytest.mark.asyncio
@pytest.mark.parametrize("version", ["3.1", "2.2"])
async def test_ninjs_without_a_key_carries_the_summary_only(
    settings: Settings, engine: Engine, version: str
) -> None:
    write_articles(engine, [*sample_articles()[:3], article(4, summary="")], now=T0)
    s = summaries_only(settings, ninjs_version=version)
    async for client in client_for(s):
        for headers in ({}, {"X-API-Key": "wrong"}):
            one = await client.get(f"/api/ninjs/{ARTICLE}", headers=headers)
            assert one.status_code == 200
            doc = check(one.json(), version)
            assert "bodies" not in doc and BODY not in one.text
            assert doc["descriptions"][0]["value"]  # the summary stays
            assert "X-API-Key" in one.headers["vary"]
            feed = await client.get("/api/ninjs", params={"limit": 10}, headers=headers)
            assert feed.status_code == 200 and "<p>" not in feed.text  # no HTML body
            for d in feed.json():
                check(d, version)
                assert "bodies" not in d and d["descriptions"]  # made from the body if none
                assert len(d["descriptions"][0]["value"]) <= 500
        keyed = await client.get(f"/api/ninjs/{ARTICLE}", headers={"X-API-Key": KEY})
        doc = check(keyed.json(), version)
        assert BODY in bodies(doc) and "no-store" in keyed.headers["cache-control"]
        listed = await client.get("/api/ninjs", headers={"X-API-Key": KEY})
        assert all("bodies" in check(d, version) for d in listed.json())


@pytest.mark.asyncio
async def test_ninjs_with_full_text_on_is_full_for_everyone(
    settings: Settings, engine: Engine
) -> None:
    write_articles(engine, sample_articles()[:3], now=T0)
    async for client in client_for(settings):  # feed_full_text is on by default
        doc = check((await client.get(f"/api/ninjs/{ARTICLE}")).json(), "3.1")
        assert BODY in bodies(doc)


def test_partner_feed_follows_feed_full_text(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles()[:3], now=T0)
    s = summaries_only(settings)
    FeedBuilder(s, engine).build_syndication(now=T0)
    data = (Path(s.feeds_dir) / "partner.xml").read_bytes()
    items = etree.fromstring(data).findall("channel/item")
    assert len(items) == 3
    for item in items:
        assert item.find(f"{CONTENT}encoded") is None
        assert item.findtext("description")
    assert BODY.encode() not in data
    # Turning full text on rebuilds the file with it (the setting is in its fingerprint).
    FeedBuilder(settings, engine).build_syndication(now=T0)
    assert BODY.encode() in (Path(s.feeds_dir) / "partner.xml").read_bytes()
