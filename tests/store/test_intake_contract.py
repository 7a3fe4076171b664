"""Intake's store paths on SQLite and PostgreSQL: batched import, re-import, view counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from publisher.intake.batch import import_articles
from publisher.intake.pagehits import ViewRecorder
from publisher.intake.pageviews import most_viewed
from publisher.intake.records import read_jsonl
from publisher.store import articles as store_articles

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 20:00 in Seoul
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0"


def _import(engine: Engine, batch_size: int) -> tuple[int, int, int]:
    with (SAMPLES / "articles.jsonl").open("rb") as fh:
        report = import_articles(
            engine, read_jsonl(fh), tz=ZoneInfo("Asia/Seoul"), now=NOW, batch_size=batch_size
        )
    assert not report.rejected
    return report.added, report.updated, report.unchanged


def test_samples_import_and_reimport(any_engine: Engine) -> None:
    assert _import(any_engine, batch_size=7) == (40, 0, 0)
    assert _import(any_engine, batch_size=1000) == (0, 0, 40)
    with any_engine.connect() as conn:
        sections = [(s.slug, s.name) for s in store_articles.list_sections(conn)]
        newest = store_articles.latest_articles(conn, limit=1)[0]
    assert sections == [("politics", "정치"), ("economy", "경제"), ("society", "사회"),
                        ("world", "국제"), ("culture", "문화")]  # fmt: skip
    assert newest.registered_at == NOW
    assert newest.content_html.count('href="https://news.example.kr/sections/') == 1


def test_recorder_flush_and_ranking(any_engine: Engine) -> None:
    _import(any_engine, batch_size=1000)
    rec = ViewRecorder(any_engine)
    for v in range(3):
        rec.record_hit("20261123-0040", f"v{v}", BROWSER, NOW - timedelta(minutes=5))
    rec.record_hit("20261123-0039", "v0", BROWSER, NOW - timedelta(minutes=5))
    rec.record_hit("no-such-article", "v0", BROWSER, NOW - timedelta(minutes=5))
    assert rec.flush() == 4
    assert rec.stats.unknown_articles == 1
    top = most_viewed(any_engine, now=NOW, window=timedelta(hours=1), limit=5)
    assert [(r.article.external_id, r.views) for r in top] == [
        ("20261123-0040", 3), ("20261123-0039", 1)
    ]  # fmt: skip
