"""Sanitising on the way in: allow-listed HTML, absolute links, no XML-illegal characters."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from publisher.core.models import Article
from publisher.intake.sanitise import clean_html, strip_illegal
from publisher.intake.validate import validate_article

BASE = "https://news.example.kr/articles/20261123-0001"


def test_script_style_and_event_handlers_removed() -> None:
    html = (
        '<p onclick="steal()">본문<script>alert("x")</script></p>'
        "<style>p{display:none}</style><iframe src='https://evil.example'></iframe>"
        '<img src="a.jpg" onerror="steal()"><a href="javascript:alert(1)">링크</a>'
    )
    out = clean_html(html, base_url=BASE)
    for bad in ("script", "alert", "style", "onclick", "onerror", "iframe", "javascript"):
        assert bad not in out
    assert "본문" in out and "링크" in out


def test_relative_links_and_images_made_absolute() -> None:
    out = clean_html(
        '<a href="/sections/society">사회</a><img src="../images/p.jpg">'
        '<a href="//cdn.example.kr/x">cdn</a><a href="https://other.example/y">ext</a>',
        base_url=BASE,
    )
    assert 'href="https://news.example.kr/sections/society"' in out
    assert 'src="https://news.example.kr/images/p.jpg"' in out
    assert 'href="https://cdn.example.kr/x"' in out
    assert 'href="https://other.example/y"' in out


def test_illegal_characters_gone_from_every_text_field() -> None:
    dirty = "a\x00b\x08c\x0bd\x1fe\ufffef\uffffg\ud800h"
    assert strip_illegal(dirty) == "abcdefgh"
    assert strip_illegal("tab\tcr\rlf\n") == "tab\tcr\rlf\n"
    a = validate_article(
        {"id": "x\x01", "url": BASE, "title": dirty, "summary": dirty, "author": dirty,
         "content_html": f"<p>{dirty}</p>", "image_caption": dirty, "tags": [dirty],
         "section_name": dirty, "published_at": "2026-11-23T09:30:00+09:00"},
        tz=ZoneInfo("Asia/Seoul"),
    )  # fmt: skip
    assert isinstance(a, Article), a
    assert a.external_id == "x"
    for value in (a.title, a.summary, a.author, a.image_caption, a.tags[0], a.section_name):
        assert value == "abcdefgh"
    assert a.content_html == "<p>abcdefgh</p>"


def test_allowed_markup_kept() -> None:
    html = "<h2>제목</h2><p><strong>굵게</strong> <em>기울임</em></p><ul><li>하나</li></ul>"
    assert clean_html(html, base_url=BASE) == html


def test_text_that_looks_like_a_link_is_left_alone() -> None:
    out = clean_html(
        '<p>write href="page.html" in the tag</p><a href="p.html">x</a>', base_url=BASE
    )
    assert 'write href="page.html" in' in out
    assert 'href="https://news.example.kr/articles/p.html"' in out


@pytest.mark.parametrize(
    ("link", "stored"),
    [
        ('<img alt="x > y" src="/a">', 'src="https://news.example.kr/a"'),
        ('<a href="&nbsp;/x">a</a>', 'href="https://news.example.kr/x"'),
        ('<a href="/x&nbsp;">a</a>', 'href="https://news.example.kr/x"'),
        ("<a href=\"/search?q=Children's\">a</a>",
         'href="https://news.example.kr/search?q=Children&#x27;s"'),
        ('<a href="/x?a=1&amp;b=<2>">x</a>', 'href="https://news.example.kr/x?a=1&amp;b=&lt;2&gt;"'),
    ],
)  # fmt: skip
def test_links_are_stored_exactly_as_before(link: str, stored: str) -> None:
    # The stored body feeds the content hash: a different spelling of the same link would
    # make every re-import report the article as updated.
    assert stored in clean_html(link, base_url=BASE)
