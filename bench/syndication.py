"""Sitemap build speed and memory: N articles over ten years (default 100,000; --full for
1,000,000), the sitemap index, the news sitemap and one sitemap per month.

    PYTHONPATH=. python bench/syndication.py [--articles 100000 | --full] [--runs 5]

Prints, measured in one run, each build in a fresh child process (its peak RSS is its own):
- full build: empty feeds_dir, every month read (streamed, never every article at once) and
  written;
- no-change build: the daemon's case (state in memory) and the CLI's (state from the file),
  median of --runs;
- one-article change: only that article's month is read and written again;
- the baseline "rebuild every file each time" (force=True, same code, every month rendered),
  median of --runs, and the ratio to the no-change build.
Goals (issue 17, at 1,000,000): full build ≤ 30 s, peak RSS ≤ 250 MB, no-change ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from publisher.core.config import Settings
from publisher.core.models import Article
from publisher.feeds.sitemaps import SitemapBuilder
from publisher.intake.articles import write_articles
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SPAN = timedelta(days=3650)
_COLUMNS = (
    "external_id", "url", "title", "summary", "content_html", "author", "tags", "status",
    "published_at", "updated_at", "registered_at", "content_hash",
)  # fmt: skip


def settings_for(folder: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / 'bench.db'}",
        feeds_dir=folder / "feeds",
        site_name="한빛일보",
        public_base_url="https://news.example.kr/newsletter",
    )


_INDEXES = (
    "ix_articles_published_at", "ix_articles_section_published", "ix_articles_registered_at",
    "ix_articles_updated_at",
)  # fmt: skip


def make_store(folder: Path, n: int) -> None:
    """Rows made by SQLite itself (a recursive CTE: a million in seconds), evenly spread over
    SPAN, oldest first; the bench measures the build, not the import path."""
    engine = make_engine(settings_for(folder).database_url)
    upgrade(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-200000")
        # Secondary indexes are made again after the insert (faster than row by row).
        made = {
            name: sql
            for name, sql in cur.execute("SELECT name, sql FROM sqlite_master WHERE type='index'")
            if name in _INDEXES
        }
        for name in made:
            cur.execute(f"DROP INDEX {name}")
        at = "strftime('%Y-%m-%d %H:%M:%S', CAST(? + i * ? AS INTEGER), 'unixepoch') || '.000000'"
        cur.execute(
            f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1),
            t(i, id, at) AS (SELECT i, printf('b%08d', i), {at} FROM n)
            INSERT INTO articles ({", ".join(_COLUMNS)})
            SELECT id, 'https://news.example.kr/articles/' || id, '기사 ' || i, '', '', '', '[]',
                   'published', at, at, at, '' FROM t""",
            (n, int((NOW - SPAN).timestamp()), SPAN.total_seconds() / n),
        )
        for statement in made.values():
            cur.execute(statement)
        raw.commit()
    finally:
        raw.close()
    engine.dispose()


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM): ru_maxrss would carry over the parent's peak
    through fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(folder: Path, mode: str, runs: int) -> dict[str, Any]:
    """One measurement in this (child) process."""
    settings = settings_for(folder)
    engine = make_engine(settings.database_url)
    builder = SitemapBuilder(settings, engine)
    times: list[float] = []
    files = changed = 0
    if mode == "change":  # one correction, dated in one month
        fixed = Article(external_id="b00000123", url="https://news.example.kr/articles/b00000123",
                        title="정정", published_at=NOW - SPAN + timedelta(hours=1),
                        updated_at=NOW)  # fmt: skip
        builder.build(now=NOW)  # state loaded and checked first: only the change is timed
        write_articles(engine, [fixed], now=NOW)
    for _ in range(1 if mode in ("full", "change") else runs):
        started = time.perf_counter()
        results = builder.build(now=NOW, force=mode == "force")
        times.append(time.perf_counter() - started)
        files, changed = len(results), sum(r.changed for r in results)
        if mode == "cold":
            builder = SitemapBuilder(settings, engine)  # state from the file again
    peak = _peak_mb()
    return {"seconds": statistics.median(times), "peak_mb": peak, "files": files,
            "changed": changed}  # fmt: skip


def measure(folder: Path, mode: str, runs: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--mode", mode, "--runs", str(runs)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=100_000)
    p.add_argument("--full", action="store_true", help="1,000,000 articles (the issue's size)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="full", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child, args.mode, args.runs)))
        return
    n = 1_000_000 if args.full else args.articles
    with tempfile.TemporaryDirectory(prefix="bench-syndication-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        make_store(folder, n)
        print(f"{n:,} articles over ten years inserted in {time.perf_counter() - started:.1f} s")
        full = measure(folder, "full", 1)
        warm = measure(folder, "warm", args.runs)
        cold = measure(folder, "cold", args.runs)
        force = measure(folder, "force", max(1, min(args.runs, 3)))
        change = measure(folder, "change", 1)
    print(f"full build:        {full['seconds']:7.2f} s, peak RSS {full['peak_mb']:.0f} MB, "
          f"{full['files']} files  (goal at 1M: ≤ 30 s, ≤ 250 MB)")  # fmt: skip
    print(f"no change, daemon: {warm['seconds'] * 1000:7.1f} ms, {warm['changed']} written  "
          "(goal: ≤ 50 ms)")  # fmt: skip
    print(f"no change, CLI:    {cold['seconds'] * 1000:7.1f} ms (state read from the file)")
    print(f"one article fixed: {change['seconds'] * 1000:7.1f} ms, {change['changed']} files "
          "written")  # fmt: skip
    print(f"rebuild every file each time: {force['seconds']:.2f} s, peak RSS "
          f"{force['peak_mb']:.0f} MB; no-change build is "
          f"{force['seconds'] / max(warm['seconds'], 1e-9):,.0f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
