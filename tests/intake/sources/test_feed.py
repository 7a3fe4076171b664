"""An upstream RSS/Atom feed served on 127.0.0.1: conditional GET, de-dup, entry mapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from publisher.core.config import FeedSource, Settings
from publisher.intake.polling import run_collect
from publisher.intake.sources.entries import entry_id
from publisher.store import articles as store_articles
from tests.conftest import T0
from tests.httpkit import Answer, Server, serving
from tests.intake.sources.kit import LAST_MODIFIED, Upstream, item, rss, state, titles, with_sources


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as s:
        yield s


def _settings(settings: Settings, server: Server, **kw: str) -> Settings:
    return with_sources(
        settings, FeedSource(kind="feed", name="cms", url=server.url("/rss.xml"), **kw)
    )


def test_conditional_get_keeps_state_and_a_new_etag_is_parsed_again(
    settings: Settings, engine: Engine, server: Server
) -> None:
    up = Upstream(server)
    up.body = rss(item("g1", "https://news.example.kr/a/1", "첫 기사"))
    s = _settings(settings, server)

    first = run_collect(s, engine, now=T0)
    assert first.changed and first.sources[0].added == 1
    assert "if-none-match" not in server.seen[-1].headers
    st = state(engine, "cms")
    assert (st.etag, st.last_modified) == ('"v1"', LAST_MODIFIED)

    second = run_collect(s, engine, now=T0 + timedelta(minutes=1))
    assert server.seen[-1].headers["if-none-match"] == '"v1"'
    assert server.seen[-1].headers["if-modified-since"] == LAST_MODIFIED
    assert not second.changed and "not modified" in second.sources[0].detail
    assert state(engine, "cms").etag == '"v1"'  # a 304 keeps what the next request needs

    up.version = "v2"
    up.body = rss(
        item("g2", "https://news.example.kr/a/2", "둘째 기사"),
        item("g1", "https://news.example.kr/a/1", "첫 기사 (수정)"),
    )
    third = run_collect(s, engine, now=T0 + timedelta(minutes=2))
    assert (third.sources[0].added, third.sources[0].updated) == (1, 1)
    assert state(engine, "cms").etag == '"v2"'
    assert titles(engine) == {
        entry_id("cms", "g1"): "첫 기사 (수정)", entry_id("cms", "g2"): "둘째 기사"
    }  # fmt: skip


def test_dedup_by_guid_then_by_link(settings: Settings, engine: Engine, server: Server) -> None:
    up = Upstream(server)
    up.body = rss(
        item("g1", "https://news.example.kr/a/1", "하나"),
        item("g1", "https://news.example.kr/a/1-copy", "하나 (같은 GUID)"),
        item("g9", "https://news.example.kr/a/1", "하나 (같은 링크)"),
        item(None, "https://news.example.kr/a/3", "GUID 없음: 링크가 GUID"),
    )
    s = _settings(settings, server)
    run = run_collect(s, engine, now=T0)
    assert run.sources[0].added == 2 and "2 duplicate(s) skipped" in run.sources[0].detail
    assert titles(engine) == {
        entry_id("cms", "g1"): "하나",
        entry_id("cms", "https://news.example.kr/a/3"): "GUID 없음: 링크가 GUID",
    }

    # The CMS re-issues GUIDs but keeps links: still the same articles, updated in place.
    up.version = "v2"
    up.body = rss(item("new-guid-1", "https://news.example.kr/a/1", "하나 (새 GUID)"))
    run = run_collect(s, engine, now=T0 + timedelta(minutes=1))
    assert (run.sources[0].added, run.sources[0].updated) == (0, 1)
    assert titles(engine)[entry_id("cms", "g1")] == "하나 (새 GUID)"


def test_entries_are_mapped_to_articles(settings: Settings, engine: Engine, server: Server) -> None:
    up = Upstream(server)
    up.body = rss(
        item(
            "https://cms.example.kr/?p=1", "/a/1", "제목 &amp; 부제",
            extra=(
                "<description>&lt;p&gt;요약 &lt;b&gt;굵게&lt;/b&gt;&lt;/p&gt;</description>"
                "<content:encoded><![CDATA[<p>본문<script>x()</script></p>]]></content:encoded>"
                "<dc:creator>홍길동</dc:creator><category>국회</category><category>여당</category>"
                '<media:content url="https://img.example.kr/1.jpg" type="image/jpeg" '
                'medium="image" fileSize="1234"/>'
                '<enclosure url="https://img.example.kr/e.png" type="image/png" length="9"/>'
            ),
        ),
        item("g2", "https://news.example.kr/a/2", "둘", date="Mon, 32 Nov 2026 09:00:00 +0900",
             extra='<enclosure url="https://img.example.kr/2.png" type="image/png" length="9"/>'),
        item("g3", "https://news.example.kr/a/3", "셋", date="",
             extra='<enclosure url="https://img.example.kr/3.png" type="image/png" length="77"/>'),
    )  # fmt: skip
    run = run_collect(_settings(settings, server, section="politics"), engine, now=T0)
    assert (run.sources[0].added, run.sources[0].rejected) == (2, 1)
    assert "entry 2: published: not an RFC 822 or RFC 3339 date" in run.sources[0].detail
    with engine.connect() as conn:
        a = store_articles.get_article(conn, entry_id("cms", "https://cms.example.kr/?p=1"))
        b = store_articles.get_article(conn, entry_id("cms", "g3"))
    assert a is not None and b is not None
    assert a.external_id == "cms:" + a.external_id.split(":")[1] and len(a.external_id) == 36
    # The relative link resolves against the feed URL; script is gone; tags from categories.
    assert a.url == server.url("/a/1")
    assert (a.title, a.summary, a.author) == ("제목 & 부제", "요약 굵게", "홍길동")
    assert a.content_html == "<p>본문</p>"
    assert a.tags == ("국회", "여당") and a.section == "politics"
    assert (a.image_url, a.image_type, a.image_length) == (
        "https://img.example.kr/1.jpg", "image/jpeg", 1234
    )  # fmt: skip
    assert a.published_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    # No date at all: first seen; the image comes from the enclosure.
    assert b.published_at == T0
    assert (b.image_url, b.image_type, b.image_length) == ("https://img.example.kr/3.png",
                                                           "image/png", 77)  # fmt: skip


def test_atom_and_a_page_that_is_not_a_feed(
    settings: Settings, engine: Engine, server: Server
) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>A</title><id>urn:cms</id><updated>2026-11-23T00:00:00Z</updated>"
        "<entry><id>tag:cms.example.kr,2026:7</id>"
        '<title type="html">&lt;b&gt;경제&lt;/b&gt; 소식</title>'
        '<link rel="alternate" href="https://news.example.kr/a/7"/>'
        "<published>2026-11-23T09:00:00+09:00</published>"
        "<updated>2026-11-23T09:30:00+09:00</updated>"
        '<author><name>이기자</name></author><category term="economy" label="경제"/>'
        '<content type="html">&lt;p&gt;본문&lt;/p&gt;</content></entry></feed>'
    ).encode()  # fmt: skip
    server.answer("/atom", Answer(200, atom, {"Content-Type": "application/atom+xml"}))
    server.answer("/page", Answer(200, b"<html><body>login</body></html>",
                                  {"Content-Type": "text/html"}))  # fmt: skip
    s = with_sources(
        settings,
        FeedSource(kind="feed", name="atom", url=server.url("/atom")),
        FeedSource(kind="feed", name="page", url=server.url("/page")),
    )
    run = run_collect(s, engine, now=T0)
    assert [r.status for r in run.sources] == ["ok", "failed"]
    assert "not an RSS or Atom feed" in run.sources[1].detail
    with engine.connect() as conn:
        a = store_articles.get_article(conn, entry_id("atom", "tag:cms.example.kr,2026:7"))
    assert a is not None
    assert (a.title, a.author, a.tags) == ("경제 소식", "이기자", ("경제",))
    assert a.updated_at == datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
