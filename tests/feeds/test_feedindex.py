"""feeds/index.html as a reader sees it: styled like the reader pages, the site named once."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

import pytest

from publisher.core.config import Settings
from publisher.core.models import Section
from publisher.feeds.index import render_index
from publisher.feeds.scopes import feeds_base_url, make_scopes

SECTIONS = [Section("politics", "정치", 1), Section("economy", "경제", 2)]


class _Page(HTMLParser):
    """The visible text of <body>, the inline style, and every URL that would be fetched."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.style = ""
        self.fetched: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        a = dict(attrs)
        if tag in ("img", "script", "iframe") or (tag == "link" and a.get("rel") == "stylesheet"):
            self.fetched.append(a.get("src") or a.get("href") or tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if "style" in self._in:
            self.style += data
        elif "body" in self._in and data.strip():
            self.text.append(data.strip())


def _page(settings: Settings) -> _Page:
    page = _Page()
    page.feed(render_index(settings, make_scopes(settings, SECTIONS)).decode("utf-8"))
    return page


@pytest.mark.parametrize("language", ["ko", "en"])
def test_index_names_the_site_once_and_each_feed_by_its_own_name(
    language: Literal["ko", "en"],
) -> None:
    """It said "Example News Example News 최신 기사": title and description both had the name."""
    s = Settings(site_name="Example News", language=language)
    page = _page(s)
    visible = " ".join(page.text)
    assert visible.count("Example News") == 1, visible  # the header's link to the site
    assert page.text[0] == "Example News"
    for name in ("정치", "경제", "많이 본 뉴스" if language == "ko" else "Most viewed"):
        assert name in page.text, (name, page.text)
    assert ("최근 24시간 동안 많이 본 기사" if language == "ko" else "24 hours") in visible


def test_index_carries_the_reader_pages_style_inline_and_fetches_nothing() -> None:
    s = Settings(site_name="Example News")
    page = _page(s)
    assert page.fetched == []
    assert "background: #f4f5f7" in page.style and "max-width: 36rem" in page.style
    assert not re.search(r"url\(|@import", page.style)
    html = render_index(s, make_scopes(s, SECTIONS)).decode("utf-8")
    assert '<meta name="viewport"' in html and "<title>피드 · Example News</title>" in html


def test_index_links_every_feed_and_keeps_the_operators_description() -> None:
    s = Settings(site_name="Example News", feed_description="매일 아침 주요 뉴스")
    html = render_index(s, make_scopes(s, SECTIONS)).decode("utf-8")
    base = feeds_base_url(s)
    for prefix in ("", "sections/politics/", "sections/economy/", "popular/"):
        for name in ("rss.xml", "atom.xml", "feed.json"):
            assert f'<a href="{base}{prefix}{name}"' in html
            assert 'rel="alternate"' in html and f'href="{base}{prefix}{name}">' in html
    assert "매일 아침 주요 뉴스" in _page(s).text
