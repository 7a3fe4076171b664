"""The partner MRSS profile (feeds/partner.xml), parsed as XML: full text, the image with
width, height, credit and caption, dcterms:modified; change-only writes; served as RSS."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.core.models import Article
from publisher.feeds.build import FeedBuilder
from publisher.intake.articles import set_status, write_articles
from publisher.web.app import create_app
from tests.feedsample import T0, article, sample_articles

MEDIA = "{http://search.yahoo.com/mrss/}"
DCTERMS = "{http://purl.org/dc/terms/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


def _pictured(n: int, **kw: object) -> Article:
    return article(n, image_width=1600, image_height=900, image_credit="사진부 박기자", **kw)


def _items(settings: Settings) -> list[etree._Element]:
    data = (Path(settings.feeds_dir) / "partner.xml").read_bytes()
    root = etree.fromstring(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert not feedparser.parse(data).bozo  # a well-formed feed for an ordinary reader too
    return list(root.findall("channel/item"))


def test_full_text_image_credit_and_modified(settings: Settings, engine: Engine) -> None:
    s = settings  # feed_full_text is on by default (off: see test_full_text_gate.py)
    write_articles(engine, [*sample_articles()[:3], _pictured(4)], now=T0)
    results = {r.path: r for r in FeedBuilder(s, engine).build_syndication(now=T0)}
    assert results["partner.xml"].changed and results["partner.xml"].items == 4
    items = _items(s)
    by_link = {i.findtext("link"): i for i in items}
    four = by_link["https://news.example.kr/articles/20261123-0004"]
    body = four.findtext(f"{CONTENT}encoded")
    assert body is not None and "본문 4 첫 문단." in body and "관련 기사" in body
    media = four.find(f"{MEDIA}content")
    assert media is not None
    assert media.get("url") == "https://img.example.kr/4.jpg"
    assert (media.get("width"), media.get("height"), media.get("type")) == (
        "1600", "900", "image/jpeg",
    )  # fmt: skip
    assert media.findtext(f"{MEDIA}credit") == "사진부 박기자"
    assert media.findtext(f"{MEDIA}description") == "사진 4 설명"
    modified = four.findtext(f"{DCTERMS}modified")
    assert modified is not None
    assert datetime.fromisoformat(modified) == T0 - timedelta(minutes=120)
    two = by_link["https://news.example.kr/articles/20261123-0002"]
    plain_media = two.find(f"{MEDIA}content")  # an image without size or credit: neither shown
    assert plain_media is not None and plain_media.get("width") is None
    assert plain_media.find(f"{MEDIA}credit") is None
    assert by_link["https://news.example.kr/articles/20261123-0001"].find(f"{MEDIA}content") is None


def test_change_only_and_retraction(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles()[:3], now=T0)
    builder = FeedBuilder(settings, engine)
    builder.build_syndication(now=T0)
    path = Path(settings.feeds_dir) / "partner.xml"
    stamp = path.stat().st_mtime_ns
    again = {r.path: r.changed for r in builder.build_syndication(now=T0)}
    assert again["partner.xml"] is False and path.stat().st_mtime_ns == stamp
    set_status(engine, sample_articles()[0].external_id, "retracted", now=T0)
    assert {r.path: r.changed for r in builder.build_syndication(now=T0)}["partner.xml"]
    assert len(_items(settings)) == 2


def test_turned_off(settings: Settings, engine: Engine) -> None:
    s = settings.model_copy(update={"partner_feed": False})
    write_articles(engine, sample_articles()[:1], now=T0)
    assert "partner.xml" not in {r.path for r in FeedBuilder(s, engine).build_syndication(now=T0)}


@pytest.mark.asyncio
async def test_served_as_rss(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles()[:1], now=T0)
    FeedBuilder(settings, engine).build_syndication(now=T0)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        resp = await client.get("/feeds/partner.xml")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/rss+xml; charset=utf-8"
