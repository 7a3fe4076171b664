"""Intake speed: article import and view hits, batched vs one write per record, on SQLite.

    PYTHONPATH=. python bench/intake.py [--articles 100000] [--hits 1000000] [--baseline 2000]

Each phase runs in its own Python process, so the peak memory it reports (ru_maxrss) is that
phase's alone. Articles go through the real path: a JSON Lines file → reader → validation and
nh3 cleaning → batched upserts. Hits go through ViewRecorder.record_hit, the function the web
layer calls. The baselines run the same code with batching off (one transaction per article,
one flush per hit) on a smaller N, in the same run, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
SEOUL = ZoneInfo("Asia/Seoul")
PARAGRAPH = (
    "<p>기상청은 {n}일 밤 9시를 기해 서울과 경기 북부에 한파주의보를 발령했다. 아침 기온은 "
    "영하 8도까지 떨어질 전망이며, 수도관 동파와 빙판길 사고에 주의해 달라고 당부했다. "
    '<a href="/sections/society">사회 기사</a>와 <a href="https://news.example.kr/weather">'
    "날씨 정보</a>를 함께 확인하세요.</p>"
)
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 Chrome/124.0 Mobile",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari",
]
BOTS = ["Mozilla/5.0 (compatible; Googlebot/2.1)", "Mozilla/5.0 (compatible; Yeti/1.1)"]


def article(n: int) -> dict[str, Any]:
    body = "".join(PARAGRAPH.format(n=n + i) for i in range(8))  # about 3 KB of UTF-8
    return {
        "id": f"bench-{n:07d}",
        "url": f"https://news.example.kr/articles/bench-{n:07d}",
        "title": f"수도권 첫 한파주의보 {n}",
        "summary": "기상청이 올겨울 들어 처음으로 수도권에 한파주의보를 내렸다.",
        "content_html": body,
        "author": "남궁민 기자",
        "section": ["politics", "economy", "society", "world", "culture"][n % 5],
        "tags": ["날씨", "한파"],
        "image_url": f"https://news.example.kr/images/bench-{n:07d}.jpg",
        "published_at": (T0 + timedelta(seconds=n)).isoformat(),
    }


def write_articles_file(path: Path, count: int) -> int:
    with path.open("w", encoding="utf-8") as fh:
        for n in range(count):
            fh.write(json.dumps(article(n), ensure_ascii=False) + "\n")
    return path.stat().st_size


def _engine(db: Path) -> Any:
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    return engine


def phase_articles(
    source: Path, db: Path, batch_size: int, limit: int | None, workers: int
) -> dict[str, Any]:
    from itertools import islice

    from publisher.intake.batch import import_articles
    from publisher.intake.records import read_items

    engine = _engine(db)
    with source.open("rb") as fh:
        records = islice(read_items(fh, "jsonl"), limit)
        start = time.perf_counter()
        report = import_articles(
            engine, records, tz=SEOUL, now=T0, batch_size=batch_size, workers=workers
        )
        elapsed = time.perf_counter() - start
    assert not report.rejected, report.rejected[:3]
    return {"n": report.added, "seconds": elapsed}


def phase_hits(db: Path, count: int, batched: bool) -> dict[str, Any]:
    from publisher.intake.batch import import_articles
    from publisher.intake.pagehits import ViewRecorder
    from publisher.intake.records import Record

    engine = _engine(db)
    articles = 1000
    records = (Record(n + 1, article(n)) for n in range(articles))
    import_articles(engine, records, tz=SEOUL, now=T0)
    recorder = ViewRecorder(engine) if batched else ViewRecorder(engine, max_buffered=1)
    rnd = random.Random(7)
    weights = [1 / (rank + 1) for rank in range(articles)]  # a few stories get most views
    # The hits span one hour, about what 1M views a day look like at the evening peak, so the
    # recorder's 30-second buffer (measured on the hits' own times) holds ~8,000 hits.
    step = timedelta(hours=1) / max(count, 1)
    elapsed = 0.0
    done = 0
    while done < count:
        size = min(20_000, count - done)
        ids = rnd.choices(range(articles), weights=weights, k=size)
        hits = [
            (
                f"bench-{a:07d}",
                f"visitor-{rnd.randrange(200_000)}",
                BOTS[i % 2] if i % 20 == 0 else AGENTS[i % 4],
                T0 + step * (done + i),
            )
            for i, a in enumerate(ids)
        ]
        start = time.perf_counter()
        for article_id, visitor, agent, at in hits:
            recorder.record_hit(article_id, visitor, agent, at)
        elapsed += time.perf_counter() - start
        done += size
    start = time.perf_counter()
    recorder.flush()
    elapsed += time.perf_counter() - start
    s = recorder.stats
    return {"n": count, "seconds": elapsed, "stored": s.stored, "bots": s.bots,
            "collapsed": s.collapsed}  # fmt: skip


def child(args: argparse.Namespace) -> None:
    if args.phase == "articles":
        out = phase_articles(Path(args.source), Path(args.db), args.batch, args.n, args.workers)
    else:
        out = phase_hits(Path(args.db), args.n, args.batch > 1)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["workers_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))


def run_phase(*extra: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", *extra]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=2_000, help="N for the baselines")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=None, help="validation processes")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.workers is None:
        from publisher.intake.workers import default_workers

        args.workers = default_workers()
    with tempfile.TemporaryDirectory(prefix="publisher-bench-") as tmp:
        d = Path(tmp)
        source = d / "articles.jsonl"
        size = write_articles_file(source, max(args.articles, args.baseline))
        print(f"articles file: {max(args.articles, args.baseline):,} articles, {size / 1e6:.0f} MB")
        articles = ["--phase", "articles", "--source", str(source)]
        rows = [
            (f"articles, batched, {args.workers} validation processes", run_phase(
                *articles, "--db", str(d / "a.db"), "--n", str(args.articles),
                "--workers", str(args.workers))),
            ("articles, batched, validation in-process", run_phase(
                *articles, "--db", str(d / "s.db"), "--n", str(args.articles), "--workers", "0")),
            ("articles, baseline (one insert + commit each)", run_phase(
                *articles, "--db", str(d / "b.db"), "--n", str(args.baseline), "--batch", "1",
                "--workers", "0")),
            ("hits, batched (ViewRecorder)", run_phase(
                "--phase", "hits", "--db", str(d / "h.db"), "--n", str(args.hits))),
            ("hits, baseline (one upsert + commit each)", run_phase(
                "--phase", "hits", "--db", str(d / "hb.db"), "--n", str(args.baseline),
                "--batch", "1")),
        ]  # fmt: skip
    rates = [r["n"] / r["seconds"] for _, r in rows]
    for (label, r), rate in zip(rows, rates, strict=True):
        workers = f" (+ workers {r['workers_peak_mb']:.0f} MB each)" if r["workers_peak_mb"] else ""
        print(f"{label:<48} {r['n']:>9,} in {r['seconds']:6.2f} s = {rate:>9,.0f}/s, "
              f"peak {r['peak_mb']:4.0f} MB{workers}")  # fmt: skip
    hits = rows[3][1]
    print(f"hits: {hits['stored']:,} views stored, {hits['bots']:,} bot hits ignored, "
          f"{hits['collapsed']:,} repeats collapsed")  # fmt: skip
    print(f"articles: {rates[0]:,.0f}/s (target 5,000/s), {rates[0] / rates[2]:.1f}x the baseline; "
          f"in-process validation {rates[1]:,.0f}/s, {rates[1] / rates[2]:.1f}x")  # fmt: skip
    print(f"hits: {rates[3]:,.0f}/s (target 20,000/s), {rates[3] / rates[4]:.1f}x the baseline")


if __name__ == "__main__":
    main()
