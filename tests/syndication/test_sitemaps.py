"""News sitemap, sitemap index and monthly sitemaps: parsed by ultimate-sitemap-parser (an
independent parser) and checked against the protocols' rules; change-only writes; serving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine
from usp.objects.sitemap import IndexXMLSitemap, PagesXMLSitemap
from usp.tree import sitemap_from_str

from publisher.core.config import Settings
from publisher.feeds import sitemaps
from publisher.feeds.build import FeedBuilder
from publisher.intake.articles import set_status, write_articles
from publisher.web.app import create_app
from tests.feedsample import T0, article, sample_articles

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def _read(settings: Settings, rel: str) -> str:
    return (Path(settings.feeds_dir) / rel).read_text("utf-8")


def _pages(settings: Settings, rel: str) -> PagesXMLSitemap:
    parsed = sitemap_from_str(_read(settings, rel))
    assert isinstance(parsed, PagesXMLSitemap), parsed
    return parsed


def _index_urls(settings: Settings) -> list[str]:
    parsed = sitemap_from_str(_read(settings, "sitemap.xml"))
    assert isinstance(parsed, IndexXMLSitemap), parsed
    return [s.url for s in parsed.sub_sitemaps]


def _build(settings: Settings, engine: Engine, now: datetime = T0) -> dict[str, bool]:
    results = FeedBuilder(settings, engine).build_syndication(now=now)
    return {r.path: r.changed for r in results if r.kind == "sitemap"}


def _structure(settings: Settings, rel: str) -> etree._Element:
    """The protocol's rules a parser may forgive: root, namespace, limits, absolute URLs."""
    data = (Path(settings.feeds_dir) / rel).read_bytes()
    assert len(data) <= sitemaps.MAX_BYTES
    root = etree.fromstring(data)
    assert root.tag in (f"{SM}urlset", f"{SM}sitemapindex")
    children = list(root)
    assert len(children) <= sitemaps.MAX_URLS
    for child in children:
        loc = child.findtext(f"{SM}loc")
        assert loc and loc.startswith("https://"), loc
        lastmod = child.findtext(f"{SM}lastmod")
        if lastmod is not None:
            datetime.fromisoformat(lastmod.replace("Z", "+00:00"))  # W3C, with a zone
    return root


def test_news_sitemap_index_and_month_parse(settings: Settings, engine: Engine) -> None:
    old = article(20, published_at=T0 - timedelta(hours=49), updated_at=T0 - timedelta(hours=1))
    write_articles(engine, [*sample_articles(), old], now=T0)
    changed = _build(settings, engine)
    assert changed == {"news-sitemap.xml": True, "sitemap-2026-11.xml": True, "sitemap.xml": True}

    news = _pages(settings, "news-sitemap.xml")
    by_url = {a.url: a for a in sample_articles()}
    assert [p.url for p in news.pages] == [a.url for a in sample_articles()]  # newest first
    for page in news.pages:
        story = page.news_story
        assert story is not None
        a = by_url[page.url]
        assert story.title == a.title
        assert story.publish_date == a.published_at
        assert story.publication_name == "한빛일보" and story.publication_language == "ko"
    root = _structure(settings, "news-sitemap.xml")
    assert len(root) == 8 and all(u.find(f"{NEWS}news") is not None for u in root)

    month = _pages(settings, "sitemap-2026-11.xml")
    assert len(month.pages) == 9  # the 49-hour-old article is no news, but is in its month
    assert {p.url: p.last_modified for p in month.pages}[old.url] == old.updated_at
    _structure(settings, "sitemap-2026-11.xml")

    base = "https://news.example.kr/newsletter/feeds/"
    assert _index_urls(settings) == [base + "news-sitemap.xml", base + "sitemap-2026-11.xml"]
    index = _structure(settings, "sitemap.xml")
    assert index[1].findtext(f"{SM}lastmod") == "2026-11-23T00:30:00Z"  # newest update


def test_nothing_changed_writes_nothing(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles(), now=T0)
    builder = FeedBuilder(settings, engine)
    builder.build_syndication(now=T0)
    root = Path(settings.feeds_dir)
    before = {p.name: p.stat().st_mtime_ns for p in root.iterdir()}
    again = builder.build_syndication(now=T0)
    assert not any(r.changed for r in again) and len(again) == 4  # 3 sitemaps, partner.xml
    fresh = FeedBuilder(settings, engine).build_syndication(now=T0)  # state from the file
    assert not any(r.changed for r in fresh)
    assert {p.name: p.stat().st_mtime_ns for p in root.iterdir()} == before


def test_only_the_changed_month_is_rewritten(settings: Settings, engine: Engine) -> None:
    october = article(30, published_at=datetime(2026, 10, 5, tzinfo=UTC))
    write_articles(engine, [*sample_articles(), october], now=T0)
    _build(settings, engine)
    november = Path(settings.feeds_dir) / "sitemap-2026-11.xml"
    stamp = november.stat().st_mtime_ns
    fixed = article(30, published_at=october.published_at, title="정정된 제목")
    write_articles(engine, [fixed], now=T0)
    changed = _build(settings, engine)
    assert changed["sitemap-2026-10.xml"] and changed["sitemap.xml"]
    assert not changed["sitemap-2026-11.xml"] and november.stat().st_mtime_ns == stamp
    assert "sitemap-2026-10.xml" in _index_urls(settings)[2]


def test_retraction_leaves_news_and_month(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles(), now=T0)
    _build(settings, engine)
    gone = sample_articles()[2]
    assert set_status(engine, gone.external_id, "retracted", now=T0 + timedelta(minutes=5))
    changed = _build(settings, engine, T0 + timedelta(minutes=6))
    assert changed["news-sitemap.xml"] and changed["sitemap-2026-11.xml"]
    assert gone.url not in [p.url for p in _pages(settings, "news-sitemap.xml").pages]
    assert gone.url not in [p.url for p in _pages(settings, "sitemap-2026-11.xml").pages]
    # Two days on, nothing is news any more: the news sitemap is empty, still valid.
    _build(settings, engine, T0 + timedelta(hours=49))
    assert etree.fromstring(_read(settings, "news-sitemap.xml").encode()).tag == f"{SM}urlset"
    assert len(_structure(settings, "news-sitemap.xml")) == 0


def test_a_big_month_is_split(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitemaps, "MAX_URLS", 3)
    write_articles(engine, sample_articles(), now=T0)
    changed = _build(settings, engine)
    parts = ["sitemap-2026-11.xml", "sitemap-2026-11-2.xml", "sitemap-2026-11-3.xml"]
    assert [p for p in changed if p.startswith("sitemap-")] == parts
    assert [len(_pages(settings, p).pages) for p in parts] == [3, 3, 2]
    assert [u.rsplit("/", 1)[1] for u in _index_urls(settings)[1:]] == parts
    seen = [p.url for rel in parts for p in _pages(settings, rel).pages]
    assert sorted(seen) == sorted(a.url for a in sample_articles())
    # Fewer articles again: the extra part goes from the disk and the index.
    for a in sample_articles()[:3]:
        set_status(engine, a.external_id, "retracted", now=T0)
    _build(settings, engine)
    assert not (Path(settings.feeds_dir) / parts[2]).exists()
    assert len(_index_urls(settings)) == 3


@pytest.mark.asyncio
async def test_served_under_feeds_as_xml(settings: Settings, engine: Engine) -> None:
    write_articles(engine, sample_articles(), now=T0)
    _build(settings, engine)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for rel in ("sitemap.xml", "news-sitemap.xml", "sitemap-2026-11.xml"):
            resp = await client.get(f"/feeds/{rel}")
            assert resp.status_code == 200, rel
            assert resp.headers["content-type"] == "application/xml; charset=utf-8"
        assert (await client.get("/feeds/sitemap-2026-13-x.xml")).status_code == 404
        assert (await client.get("/feeds/.sitemapstate.json")).status_code == 404
