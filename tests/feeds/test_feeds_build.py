"""Store → feed files: golden output, validity, determinism, corrections and retractions."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.feeds.build import STATE_FILE, FeedBuilder, build_feeds
from publisher.store import articles as store_articles
from publisher.store import pageviews as store_pageviews
from tests.feedcheck import check_feed
from tests.feedsample import T0, article, load_sample, sample_articles

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "feeds"
PREFIXES = ("", "sections/politics/", "sections/economy/", "sections/environment/", "popular/")
FEEDS = [p + n for p in PREFIXES for n in ("rss.xml", "atom.xml", "feed.json")]


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _entries(settings: Settings, rel: str) -> list[str]:
    return [e.id for e in check_feed(rel, (Path(settings.feeds_dir) / rel).read_bytes())]


def test_golden_files(settings: Settings, engine: Engine) -> None:
    """The fixed sample gives exactly tests/golden/feeds/* (UPDATE_GOLDEN=1 rewrites them)."""
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    produced = _files(Path(settings.feeds_dir))
    assert sorted(produced) == sorted([*FEEDS, "index.html"])
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for rel, data in produced.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    assert _files(GOLDEN) == produced


def test_every_feed_is_valid_and_round_trips(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    results = build_feeds(settings, engine, now=T0)
    by_id = {a.external_id: a for a in sample_articles()}
    for r in results:
        if r.path == "index.html":
            continue
        entries = check_feed(r.path, (Path(settings.feeds_dir) / r.path).read_bytes())
        assert len(entries) == r.items
        for e in entries:
            a = by_id[e.id.rsplit("/", 1)[1]]
            assert e.id == f"tag:news.example.kr,2026:article/{a.external_id}"
            assert e.link == a.url
            assert e.published == a.published_at
            assert e.updated in (None, a.updated_at)
    site = _entries(settings, "rss.xml")
    assert len(site) == 8 and site[0].endswith("20261123-0001")  # newest first
    assert len(_entries(settings, "sections/politics/atom.xml")) == 2
    assert _entries(settings, "popular/feed.json")[0].endswith("20261123-0007")


def test_same_store_gives_same_bytes_and_no_change_writes_nothing(
    settings: Settings, engine: Engine
) -> None:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    root = Path(settings.feeds_dir)

    def snapshot(hidden: bool) -> dict[Path, tuple[bytes, int]]:
        return {
            p: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in root.rglob("*")
            if p.is_file() and (hidden or not p.name.startswith("."))
        }

    everything = snapshot(hidden=True)
    assert not any(r.changed for r in build_feeds(settings, engine, now=T0))
    assert snapshot(hidden=True) == everything  # not even the state file is rewritten
    feeds = snapshot(hidden=False)
    # Later, with the popular window moved: the feeds are still untouched.
    assert not any(r.changed for r in build_feeds(settings, engine, now=T0 + timedelta(hours=1)))
    assert snapshot(hidden=False) == feeds
    # A fresh state (deleted cache) renders again and still gives identical bytes.
    (root / STATE_FILE).unlink()
    assert not any(r.changed for r in build_feeds(settings, engine, now=T0))
    forced = build_feeds(settings, engine, now=T0, force=True)
    assert all(r.changed for r in forced)
    assert {p: b for p, (b, _) in snapshot(hidden=False).items()} == {
        p: b for p, (b, _) in feeds.items()
    }


def test_new_views_reorder_the_popular_feed_only(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    with engine.begin() as conn:
        ids = store_pageviews.resolve_ids(conn, ["20261123-0008"])
        store_pageviews.add_view_counts(conn, {(ids["20261123-0008"], T0): 5000})
    changed = {r.path for r in build_feeds(settings, engine, now=T0) if r.changed}
    assert changed == {"popular/rss.xml", "popular/atom.xml", "popular/feed.json"}
    assert _entries(settings, "popular/atom.xml")[0].endswith("20261123-0008")


def test_deleted_feed_file_is_rewritten(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    builder = FeedBuilder(settings, engine)
    builder.build(now=T0)
    (Path(settings.feeds_dir) / "sections/economy/atom.xml").unlink()
    changed = [r.path for r in builder.build(now=T0) if r.changed]
    assert changed == ["sections/economy/atom.xml"]


def test_same_article_twice_gives_one_entry(settings: Settings, engine: Engine) -> None:
    for _ in range(2):
        with engine.begin() as conn:
            store_articles.upsert_articles(conn, [article(1)], now=T0)
    build_feeds(settings, engine, now=T0)
    for rel in ("rss.xml", "atom.xml", "feed.json"):
        assert len(_entries(settings, rel)) == 1


def test_correction_keeps_id_and_bumps_updated(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    atom_before = check_feed("atom.xml", (Path(settings.feeds_dir) / "atom.xml").read_bytes())
    later = T0 + timedelta(hours=2)
    fixed = article(3, title="정정: 기사 제목 3", url="https://news.example.kr/moved/3",
                    section="economy", section_name="경제")  # fmt: skip
    with engine.begin() as conn:
        assert store_articles.upsert_articles(conn, [fixed], now=later) == ["updated"]
    results = {r.path: r for r in build_feeds(settings, engine, now=later)}
    assert results["atom.xml"].changed and results["sections/economy/rss.xml"].changed
    atom_after = check_feed("atom.xml", (Path(settings.feeds_dir) / "atom.xml").read_bytes())
    old = next(e for e in atom_before if e.id.endswith("20261123-0003"))
    new = next(e for e in atom_after if e.id.endswith("20261123-0003"))
    assert new.id == old.id == "tag:news.example.kr,2026:article/20261123-0003"
    assert new.title == "정정: 기사 제목 3" and new.link == "https://news.example.kr/moved/3"
    assert old.updated is not None and new.updated is not None and new.updated > old.updated
    assert new.updated == later
    assert old.id in _entries(settings, "sections/economy/feed.json")
    assert old.id not in _entries(settings, "sections/environment/feed.json")


def test_retraction_removes_the_entry_everywhere(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    gone = "tag:news.example.kr,2026:article/20261123-0007"
    assert gone in _entries(settings, "popular/rss.xml")
    with engine.begin() as conn:
        store_articles.set_status(conn, "20261123-0007", "retracted", now=T0)
    build_feeds(settings, engine, now=T0)
    for rel in FEEDS:
        assert gone not in _entries(settings, rel), rel


def test_dirty_store_still_gives_valid_feeds(settings: Settings, engine: Engine) -> None:
    """Written straight into the store, past intake's sanitiser."""
    dirty = [
        article(1, title="제어\x00문자\x0b와 \ufffe 비문자 ]]> 끝", summary="요약\x00 ]]>",
                content_html='<p>본문 ]]> <a href="/rel/link">상대</a><img src="img/x.png">'
                '<script>alert("x")</script><b onclick="evil()">굵게</b>\x0b</p>'),
        article(2, title="가" * 200, content_html="<p>긴 제목</p>"),
        article(3, image_url="/images/3.jpg", image_caption="캡션\x0b", image_length=0),
    ]  # fmt: skip
    with engine.begin() as conn:
        store_articles.upsert_articles(conn, dirty, now=T0)
    build_feeds(settings, engine, now=T0)
    root = Path(settings.feeds_dir)
    for rel in ("rss.xml", "atom.xml", "feed.json", "sections/politics/rss.xml"):
        data = (root / rel).read_bytes()
        assert len(check_feed(rel, data)) >= 1
        text = data.decode("utf-8")
        for bad in ("\x00", "\x0b", "\ufffe", "<script", "alert(", "onclick"):
            assert bad not in text, (rel, bad)
        assert "/rel/link" not in text or "https://news.example.kr/rel/link" in text
    rss = (root / "rss.xml").read_text("utf-8")
    assert "https://news.example.kr/rel/link" in rss
    assert "https://news.example.kr/articles/img/x.png" in rss
    assert "https://news.example.kr/images/3.jpg" in rss
    assert "<enclosure" not in rss  # no known image length anywhere
    assert "가" * 200 in rss


@pytest.mark.parametrize("scopes", [["site"], ["sections", "popular"]])
def test_scopes_setting(settings: Settings, engine: Engine, scopes: list[str]) -> None:
    load_sample(engine)
    s = settings.model_copy(update={"feed_scopes": scopes, "feed_items": 3})
    paths = {r.path for r in build_feeds(s, engine, now=T0)}
    assert ("rss.xml" in paths) == ("site" in scopes)
    assert ("popular/rss.xml" in paths) == ("popular" in scopes)
    assert ("sections/economy/feed.json" in paths) == ("sections" in scopes)
    for rel in paths - {"index.html"}:
        assert len(_entries(s, rel)) <= 3


def test_index_page_has_autodiscovery_links(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    page = (Path(settings.feeds_dir) / "index.html").read_text("utf-8")
    base = "https://news.example.kr/newsletter/feeds/"
    for rel in FEEDS:
        assert f'href="{base}{rel}"' in page, rel
    assert page.count('<link rel="alternate"') == len(FEEDS)
    assert 'type="application/feed+json"' in page and "많이 본 뉴스" in page
