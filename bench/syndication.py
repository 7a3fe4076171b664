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
from collections.abc import Iterator
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


def _rows(n: int) -> Iterator[tuple[str, ...]]:
    """Evenly spread over SPAN, oldest first; times formatted by hand (strftime per row would
    cost more than the insert)."""
    start = int((NOW - SPAN).timestamp())
    step = SPAN.total_seconds() / n
    day_text: dict[int, str] = {}
    for i in range(n):
        second = start + int(step * i)
        day, rest = divmod(second, 86400)
        date = day_text.get(day)
        if date is None:
            date = day_text[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
        hh, rest = divmod(rest, 3600)
        mm, ss = divmod(rest, 60)
        at = f"{date} {hh:02d}:{mm:02d}:{ss:02d}.000000"
        ident = f"b{i:08d}"
        yield (
            ident, f"https://news.example.kr/articles/{ident}", f"기사 {i}", "", "", "", "[]",
            "published", at, at, at, "",
        )  # fmt: skip


_INDEXES = (
    "ix_articles_published_at", "ix_articles_section_published", "ix_articles_registered_at",
    "ix_articles_updated_at",
)  # fmt: skip


def make_store(folder: Path, n: int) -> None:
    """Rows straight into SQLite (one executemany per 50,000): the bench measures the build,
    not the import path."""
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
        marks = ", ".join("?" * len(_COLUMNS))
        sql = f"INSERT INTO articles ({', '.join(_COLUMNS)}) VALUES ({marks})"
        rows = _rows(n)
        while chunk := [row for _, row in zip(range(50_000), rows, strict=False)]:
            cur.executemany(sql, chunk)
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
