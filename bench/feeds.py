"""Feed build speed: 10,000 articles in 20 sections with views; 22 scopes x 3 formats.

    PYTHONPATH=. python bench/feeds.py [--articles 10000] [--runs 5]

Prints, side by side in one run:
- full build (every feed rendered and written, empty feeds_dir) and a no-change build (nothing
  rendered or written), both with publisher's builder, median of --runs;
- a naive baseline: rebuild and rewrite every feed each time, with feedgen's defaults
  (entries prepended and then reversed, lastBuildDate = now, plain open().write()).
The baseline imports feedgen directly: it stands for "what one would write first", outside
the package (where publisher/feeds/formats.py is feedgen's only home).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from feedgen.feed import FeedGenerator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from publisher.core.config import Settings
from publisher.core.models import Article
from publisher.core.timeparse import hour_floor
from publisher.feeds.build import FeedBuilder
from publisher.store.articles import latest_articles, list_sections, upsert_articles
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from publisher.store.pageviews import add_view_counts, resolve_ids, top_articles

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PARAGRAPH = "<p>" + "서울시는 오늘 새로운 교통 정책을 발표했다. " * 12 + "</p>"


def make_store(folder: Path, n: int) -> Settings:
    settings = Settings(
        database_url=f"sqlite:///{folder / 'bench.db'}",
        feeds_dir=folder / "feeds",
        site_name="한빛일보",
        public_base_url="https://news.example.kr/newsletter",
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    rnd = random.Random(7)
    body = PARAGRAPH * 3 + '<p><a href="/related/1">관련</a> <img src="/i/x.jpg"></p>'
    batch = []
    for i in range(n):
        at = NOW - timedelta(minutes=7 * i)
        batch.append(
            Article(
                external_id=f"2026-{i:06d}",
                url=f"https://news.example.kr/articles/2026-{i:06d}",
                title=f"기사 {i}: 시내 교통 정책 발표와 시민 반응",
                summary="서울시가 새 교통 정책을 발표했다.",
                content_html=body,
                author=f"기자{i % 50}",
                section=f"section-{i % 20:02d}",
                section_name=f"섹션 {i % 20}",
                tags=("교통", f"태그{i % 7}"),
                image_url=f"https://img.example.kr/{i}.jpg" if i % 2 == 0 else None,
                image_caption="현장 사진" if i % 2 == 0 else None,
                image_type="image/jpeg" if i % 2 == 0 else None,
                image_length=50_000 + i if i % 4 == 0 else None,
                published_at=at,
                updated_at=at,
            )
        )
    with engine.begin() as conn:
        upsert_articles(conn, batch, now=NOW)
        ids = resolve_ids(conn, [a.external_id for a in batch[:3000]])
        counts = {}
        for aid in ids.values():
            for h in range(0, 24, 3):
                counts[(aid, hour_floor(NOW) - timedelta(hours=h))] = rnd.randint(1, 500)
        add_view_counts(conn, counts)
    engine.dispose()
    return settings


def naive_build(settings: Settings, engine: object) -> int:
    """Everything rebuilt and rewritten, feedgen defaults."""
    root = Path(settings.feeds_dir)
    written = 0
    with engine.connect() as conn:  # type: ignore[attr-defined]
        scopes: list[tuple[str, list[Article]]] = [("", latest_articles(conn, limit=50))]
        for s in list_sections(conn):
            scopes.append((f"sections/{s.slug}/", latest_articles(conn, limit=50, section=s.slug)))
        ranked = top_articles(conn, now=NOW, window=timedelta(hours=24), limit=50)
        scopes.append(("popular/", [r.article for r in ranked]))
    for prefix, found in scopes:
        fg = FeedGenerator()
        fg.id(settings.site_url + prefix)
        fg.title(settings.site_name)
        fg.link(href=settings.site_url, rel="alternate")
        fg.description(settings.site_name)
        for a in reversed(found):  # add_entry prepends
            fe = fg.add_entry()
            fe.id(a.url)
            fe.title(a.title)
            fe.link(href=a.url)
            fe.description(a.summary)
            fe.content(a.content_html, type="CDATA")
            fe.published(a.published_at)
            fe.updated(a.updated_at)
        folder = root / prefix
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rss.xml").write_bytes(fg.rss_str())
        (folder / "atom.xml").write_bytes(fg.atom_str())
        items = [{"id": a.url, "url": a.url, "title": a.title, "content_html": a.content_html,
                  "date_published": a.published_at.isoformat()} for a in found]  # fmt: skip
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": settings.site_name,
                "items": items}  # fmt: skip
        (folder / "feed.json").write_text(json.dumps(feed, ensure_ascii=False))
        written += 3
    return written


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    try:
        t, settings = timed(lambda: make_store(folder, args.articles))
        print(f"store: {args.articles:,} articles in 20 sections, views: set up in {t:.1f} s")
        engine = make_engine(settings.database_url)
        root = Path(settings.feeds_dir)
        full, nochange_cli, nochange_mem, naive, feeds = [], [], [], [], 0
        for _ in range(args.runs):
            shutil.rmtree(root, ignore_errors=True)
            t, results = timed(lambda: FeedBuilder(settings, engine).build(now=NOW))
            full.append(t)
            feeds = sum(1 for r in results if r.path != "index.html")
            stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
            # A fresh builder, as the CLI runs it: state from feeds_dir/.feedstate.json.
            t, again = timed(lambda: FeedBuilder(settings, engine).build(now=NOW))
            nochange_cli.append(t)
            assert not any(r.changed for r in again)
            builder = FeedBuilder(settings, engine)
            builder.build(now=NOW)
            t, _ = timed(partial(builder.build, now=NOW))  # the daemon: state in memory
            nochange_mem.append(t)
            after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
            assert after == stamps, "a no-change build wrote a file"
            t, _ = timed(lambda: naive_build(settings, engine))
            naive.append(t)
        engine.dispose()
        med = statistics.median
        size = sum(p.stat().st_size for p in root.rglob("*.xml")) + sum(
            p.stat().st_size for p in root.rglob("*.json")
        )
        print(f"feeds: {feeds} files, {size / 1e6:.1f} MB; median of {args.runs} runs")
        print(f"{'':34}{'publisher':>12}{'naive':>12}{'ratio':>10}")
        print(f"{'full build (all rendered+written)':34}{med(full):>11.3f}s{med(naive):>11.3f}s"
              f"{med(naive) / med(full):>9.1f}x")  # fmt: skip
        for label, values in (("no-change build (CLI, state file)", nochange_cli),
                              ("no-change build (daemon, memory)", nochange_mem)):  # fmt: skip
            print(f"{label:34}{med(values) * 1000:>10.1f}ms{med(naive):>11.3f}s"
                  f"{med(naive) / med(values):>9.0f}x")  # fmt: skip
        print(
            f"targets: full <= 1.5 s ({'ok' if med(full) <= 1.5 else 'MISSED'}), "
            f"no-change <= 50 ms ({'ok' if med(nochange_cli) <= 0.05 else 'MISSED'}), "
            "no file written by a no-change build (checked)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
