"""Digest fan-out bench: one run to N confirmed subscribers, at two list sizes, per database.

    PYTHONPATH=. python bench/digest.py [--sizes 100000,1000000] [--databases sqlite,postgresql]

For each database (PostgreSQL when Debian's binaries exist, started as tests/pgserver.py does)
and each size: a fresh database with N confirmed daily readers (40 % every section, the others
1–3 of 8), then one morning run (select, render every variant, enqueue one outbox row per
reader, in one transaction) in a fresh child process, so that its peak RSS is the run's own.
Prints wall time and peak RSS per size side by side, the large size's ratio to the small one
(linear growth: wall ratio ≈ size ratio, RSS flat) and the load average, then the cost of
personalising one message. Targets (issue 19): at 1,000,000, ≤ 60 s and ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from publisher.core import messageids  # noqa: E402
from publisher.core.config import Settings  # noqa: E402
from publisher.core.models import Article  # noqa: E402
from publisher.daemon.scheduler import parse_schedules  # noqa: E402
from publisher.digests import pipeline  # noqa: E402
from publisher.messages.enqueue import fill as fill_message  # noqa: E402
from publisher.store import articles as store_articles  # noqa: E402
from publisher.store import pageviews as store_pageviews  # noqa: E402
from publisher.store import subscribers as store_subscribers  # noqa: E402
from publisher.store.db import make_engine  # noqa: E402
from publisher.store.migrate import upgrade  # noqa: E402
from publisher.store.schema import contents, outbox  # noqa: E402
from tests.pgserver import PgServer, pg_bin  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from drainkit import peak_rss_mb  # noqa: E402  (one home for the child's own peak RSS)

DUE = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
NOW = DUE + timedelta(seconds=30)
SECTIONS = [
    ("politics", "정치"), ("economy", "경제"), ("society", "사회"), ("world", "국제"),
    ("sports", "스포츠"), ("culture", "문화"), ("science", "과학"), ("opinion", "오피니언"),
]  # fmt: skip
SCHEDULES = """
timezone: Asia/Seoul
digests:
  - id: morning
    name: "아침 뉴스레터"
    cron: "0 7 * * *"
    frequency: daily
    subject: "{{ site_name }} 아침 브리핑 {{ date | ko_date }}"
    max_items: 20
    most_viewed: {count: 5, window: 24h}
"""


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        templates_dir=ROOT / "templates",
        secret_key="bench-secret-key-0123456789",
        site_name="한빛일보",
        site_url="https://news.example.kr/",
        public_base_url="https://news.example.kr/newsletter",
        from_address="news@news.example.kr",
        postal_address="04524 서울특별시 중구 세종대로 1",
    )


def setup(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    rnd = random.Random(5)
    arts = []
    for i, (slug, name) in enumerate(SECTIONS):
        for j in range(6):
            k = i * 6 + j
            published = DUE - timedelta(hours=2, minutes=k * 5)
            arts.append(
                Article(
                    external_id=f"b{k}",
                    url=f"https://news.example.kr/article/{k}",
                    title=f"{name} 주요 뉴스 {k}: 정부와 국회, 내년 예산안 놓고 막판 협상",
                    summary="기획재정부는 국무회의에서 내년도 예산안을 의결했다고 밝혔다. " * 3,
                    published_at=published,
                    updated_at=published,
                    section=slug,
                    section_name=name,
                    image_url=f"https://img.example.kr/{k}.jpg",
                    image_caption=f"사진 {k}",
                )
            )
    with engine.begin() as conn:
        store_articles.ensure_sections(conn, SECTIONS)
        store_articles.upsert_articles(conn, arts, now=DUE - timedelta(hours=1))
        ids = store_pageviews.resolve_ids(conn, [a.external_id for a in arts])
        hour = DUE.replace(minute=0) - timedelta(hours=3)
        store_pageviews.add_view_counts(
            conn, {(ids[a.external_id], hour): rnd.randint(10, 5000) for a in arts}
        )
    for start in range(0, n, 50_000):  # in slices, so the setup's own memory stays small
        with engine.begin() as conn:
            store_subscribers.insert_many(conn, people(rnd, start, min(n, start + 50_000)))
    engine.dispose()


def people(rnd: random.Random, start: int, stop: int) -> list[dict[str, object]]:
    out = []
    for i in range(start, stop):
        chosen: tuple[str, ...] = ()
        if rnd.random() > 0.4:  # 40 % keep the default (everything); others choose 1–3 sections
            chosen = tuple(rnd.sample([s for s, _ in SECTIONS], rnd.choice((1, 2, 3))))
        out.append(
            {
                "email": f"reader{i:07d}@example{i % 50}.kr",
                "name": f"독자 {i}",
                "status": "confirmed",
                "frequency": "daily",
                "created_at": NOW - timedelta(days=30),
                "confirmed_at": NOW - timedelta(days=30),
                "sections": chosen,
            }
        )
    return out


def child(url: str) -> None:
    """The measured run, alone in its process so that peak RSS is the run's own."""
    settings = settings_for(url)
    engine = make_engine(settings.database_url)
    schedules = parse_schedules(SCHEDULES)
    idle_mb = peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    result = pipeline.run_digest(engine, settings, schedules, "morning", now=NOW)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss_mb = peak_rss_mb()
    out = {"wall": wall, "cpu": cpu, "rss_mb": rss_mb, "idle_mb": idle_mb,
           "variants": result.variants, "recipients": result.recipients,
           "enqueued": result.enqueued, "status": result.status,
           "load": os.getloadavg()[0]}  # fmt: skip
    print(json.dumps(out))


def personalise_cost(url: str) -> tuple[float, float, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(outbox).order_by(outbox.c.id).limit(1)).one()
        q = select(contents.c.body).where(contents.c.id == row.content_id)
        body = bytes(conn.execute(q).scalar_one())
    engine.dispose()
    subs = json.loads(row.substitutions)
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(2000):
            fill_message(body, subs, messageids.sent(row.message_id, row.id))
        runs.append((time.perf_counter() - start) / 2000)
    # Best of 7 is the cost without the neighbours' noise; the median is printed beside it.
    return min(runs), statistics.median(runs), len(body)


def measure(database: str, sizes: list[int], server: Any) -> dict[int, dict[str, Any]]:
    """One fresh database per size, set up here, run in a fresh child process."""
    out: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            url = f"sqlite:///{tmp}/bench{n}.db" if server is None else server.new_database()
            t0 = time.perf_counter()
            setup(url, n)
            print(f"{database}: setup {n:,} subscribers, 48 articles in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
            done = subprocess.run([sys.executable, __file__, "--child", url],
                                  capture_output=True, text=True)  # fmt: skip
            if done.returncode != 0:
                sys.exit(f"{database} {n:,}: the run failed:\n{done.stderr[-3000:]}")
            out[n] = json.loads(done.stdout.strip().splitlines()[-1])
            if n == sizes[0]:
                out[n]["personalise"] = personalise_cost(url)
    return out


def report(database: str, runs: dict[int, dict[str, Any]]) -> bool:
    sizes = sorted(runs)
    print(f"\n{database}: one morning run (select, render every variant, enqueue every row)")
    print(f"  {'subscribers':>11}  {'rows':>9}  {'variants':>8}  {'wall s':>7}  {'CPU s':>6}  "
          f"{'µs/row':>6}  {'peak RSS MB':>11}  {'idle RSS MB':>11}  {'load 1m':>7}")  # fmt: skip
    for n in sizes:
        r = runs[n]
        print(f"  {n:>11,}  {r['enqueued']:>9,}  {r['variants']:>8}  {r['wall']:>7.2f}  "
              f"{r['cpu']:>6.2f}  {r['wall'] / max(r['enqueued'], 1) * 1e6:>6.1f}  "
              f"{r['rss_mb']:>11.0f}  {r['idle_mb']:>11.0f}  {r['load']:>7.2f}")  # fmt: skip
    small, big = runs[sizes[0]], runs[sizes[-1]]
    if len(sizes) > 1:
        print(f"  {sizes[-1]:,} / {sizes[0]:,}: size ×{sizes[-1] / sizes[0]:.0f}, "
              f"wall ×{big['wall'] / small['wall']:.1f}, peak RSS ×"
              f"{big['rss_mb'] / small['rss_mb']:.2f}")  # fmt: skip
    best, median, size = small["personalise"]
    print(f"  personalise one message ({size / 1024:.0f} KB): best of 7 {best * 1e6:.1f} µs, "
          f"median {median * 1e6:.1f} µs (target ≤ 100 µs)")  # fmt: skip
    per_million = 1_000_000 / sizes[-1]
    ok = all(r["enqueued"] == n for n, r in runs.items())
    ok = ok and big["wall"] * per_million <= 60 and big["rss_mb"] <= 300 and best <= 100e-6
    print(f"  targets (1,000,000: ≤ 60 s, ≤ 300 MB; every reader one row): "
          f"{'met' if ok else 'MISSED'}")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000",
                        help="list sizes, comma-separated (default 100000,1000000)")  # fmt: skip
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for database in args.databases.split(","):
        if database == "sqlite":
            results[database] = measure(database, sizes, None)
            continue
        if pg_bin() is None:
            print("postgresql: skipped, no binaries under /usr/lib/postgresql")
            continue
        server = PgServer().start()
        try:
            results[database] = measure(database, sizes, server)
        finally:
            server.stop()
    ok = all([report(database, runs) for database, runs in results.items()])
    print("\ntargets met" if ok else "\nTARGET MISSED")


if __name__ == "__main__":
    main()
