"""render_feed and prepare_items: pure, deterministic, valid whatever the input."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from publisher.core.config import Settings
from publisher.feeds.formats import render_feed
from publisher.feeds.items import FORMATS, FeedItem, TagScheme, prepare_item, prepare_items
from publisher.feeds.scopes import EMPTY_FEED_DATE, Scope, feed_meta
from tests.feedcheck import check_feed, strict_xml
from tests.feedsample import T0, article, sample_articles

SEOUL = ZoneInfo("Asia/Seoul")
TAGS = TagScheme("news.example.kr", "2026")
NAMES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}


def _items(articles: list, full_text: bool = True) -> list[FeedItem]:  # type: ignore[type-arg]
    return prepare_items(articles, tags=TAGS, tz=SEOUL, full_text=full_text,
                         site_url="https://news.example.kr/")  # fmt: skip


def _render_all(settings: Settings, items: list[FeedItem]) -> dict[str, bytes]:
    meta = feed_meta(settings, Scope("site", "한빛일보", "최신 기사"), items)
    return {fmt: render_feed(fmt, meta, items) for fmt in FORMATS}


def test_tag_id_survives_url_title_section_and_date_changes() -> None:
    a = article(5)
    moved = article(5, url="https://news.example.kr/x/5", title="새 제목", section="economy",
                    published_at=a.published_at - timedelta(days=400))  # fmt: skip
    one = prepare_item(a, tags=TAGS, tz=SEOUL, full_text=True, site_url="https://news.example.kr/")
    two = prepare_item(moved, tags=TAGS, tz=SEOUL, full_text=True,
                       site_url="https://news.example.kr/")  # fmt: skip
    assert one.id == two.id == "tag:news.example.kr,2026:article/20261123-0005"


def test_order_is_kept_and_output_is_deterministic(settings: Settings) -> None:
    items = _items(sample_articles())
    first = _render_all(settings, items)
    assert first == _render_all(settings, items)
    for fmt, data in first.items():
        ids = [e.id for e in check_feed(NAMES[fmt], data)]
        assert ids == [i.id for i in items]  # feedgen would prepend: the order proves we append


def test_channel_dates_come_from_items_not_the_clock(settings: Settings) -> None:
    items = _items(sample_articles())
    rss = render_feed("rss", feed_meta(settings, Scope("site", "t", "d"), items), items)
    assert b"<lastBuildDate>Mon, 23 Nov 2026 09:30:00 +0900</lastBuildDate>" in rss
    empty = _render_all(settings, [])
    assert b"Sat, 01 Jan 2000 09:00:00 +0900" in empty["rss"]
    assert EMPTY_FEED_DATE.year == 2000
    for fmt, data in empty.items():
        assert check_feed(NAMES[fmt], data) == []


def test_hostile_text_gives_valid_feeds(settings: Settings) -> None:
    """Characters no store should hold, given straight to the renderer."""
    naive = datetime(2026, 11, 23, 9, 0)  # no offset: read as Seoul time
    hostile = [
        article(1, title="널\x00 수직탭\x0b 비문자\ufffe 외톨이\ud800 ]]> 끝",
                summary="요약 \ud83d ]]>", author="기자\x0b",
                content_html='<p>]]> <a href="../up">위</a> <script>x()</script>\ud800</p>'),
        article(2, title="한" * 200, published_at=naive, updated_at=naive),
        article(3, tags=("\x00", "정상 태그"), image_url="relative.jpg", image_caption="\ufffe"),
    ]  # fmt: skip
    items = _items(hostile)
    assert len(items) == 3
    assert items[1].published.utcoffset() == timedelta(hours=9)
    for fmt, data in _render_all(settings, items).items():
        entries = check_feed(NAMES[fmt], data)
        assert len(entries) == 3
        text = data.decode("utf-8")
        assert not any(c in text for c in ("\x00", "\x0b", "\ufffe", "<script"))
        assert "한" * 200 in text
        assert entries[1].published == naive.replace(tzinfo=SEOUL)
        assert "https://news.example.kr/articles/relative.jpg" in text


def test_items_that_cannot_be_rendered_are_skipped_and_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    good = _items(sample_articles()[:3])
    broken = replace(good[1], published="not a date")  # type: ignore[arg-type]
    no_url = article(9, url="javascript:alert(1)")
    caplog.set_level(logging.WARNING)
    assert [i.id for i in _items([no_url, *sample_articles()[:1]])] == [good[0].id]
    for fmt, data in _render_all(settings, [good[0], broken, good[2]]).items():
        ids = [e.id for e in check_feed(NAMES[fmt], data)]
        assert ids == [good[0].id, good[2].id], fmt
    assert "skipped" in caplog.text


def test_same_article_twice_gives_one_entry() -> None:
    a = article(1)
    items = _items([a, a, replace(a, title="고친 제목", updated_at=T0)])
    assert len(items) == 1


def test_summary_only_mode_has_no_content(settings: Settings) -> None:
    items = _items(sample_articles(), full_text=False)
    out = _render_all(settings, items)
    assert b"content:encoded" not in out["rss"] and b"<content" not in out["atom"]
    assert b"content_html" not in out["json"] and b"content_text" in out["json"]
    for fmt, data in out.items():
        assert len(check_feed(NAMES[fmt], data)) == 8


def test_images_media_enclosure_and_hubs(settings: Settings) -> None:
    logo = "https://news.example.kr/logo.png"
    s = settings.model_copy(update={"websub_hubs": ["https://hub.example/"], "feed_logo_url": logo})
    items = _items([article(2), article(4)])  # 2: image without length, 4: with length
    meta = feed_meta(s, Scope("site", "t", "d"), items)
    rss = strict_xml(render_feed("rss", meta, items))
    ns = {"media": "http://search.yahoo.com/mrss/", "atom": "http://www.w3.org/2005/Atom"}
    rels = [ln.get("rel") for ln in rss.findall("channel/atom:link", ns)]
    assert rels == ["self", "hub"]
    assert rss.findtext("channel/link") == "https://news.example.kr/"
    assert rss.findtext("channel/image/url") == "https://news.example.kr/logo.png"
    first, second = rss.findall("channel/item")
    assert first.find("enclosure") is None  # length unknown
    assert second.find("enclosure").get("length") == "10004"
    media = first.find("media:content", ns)
    assert media.get("medium") == "image" and media.get("url") == "https://img.example.kr/2.jpg"
    assert media.findtext("media:description", namespaces=ns) == "사진 2 설명"
    content = first.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert content.startswith('<figure><img src="https://img.example.kr/2.jpg"')
    atom = strict_xml(render_feed("atom", meta, items))
    assert [ln.get("rel") for ln in atom.findall("atom:link", ns)] == ["self", "hub", "alternate"]
    assert b'"hubs"' in render_feed("json", meta, items)
