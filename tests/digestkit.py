"""A fixed store for digest tests: sections, articles, views and subscribers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.core.models import Article
from publisher.core.schedules import Schedules
from publisher.core.vocab import SubscriberFrequency, SubscriberStatus
from publisher.daemon.scheduler import parse_schedules
from publisher.store import articles as store_articles
from publisher.store import pageviews as store_pageviews
from publisher.store import subscribers as store_subscribers
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade

# 07:00 on Tuesday 24 November 2026 in Seoul, and 30 s later (the scheduler's "now").
DUE = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
NOW = DUE + timedelta(seconds=30)
SECTIONS = [
    ("politics", "정치"), ("economy", "경제"), ("society", "사회"), ("world", "국제"),
    ("sports", "스포츠"), ("culture", "문화"),
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = """
timezone: Asia/Seoul
digests:
  - id: morning
    name: "아침 뉴스레터"
    cron: "0 7 * * *"
    frequency: daily
    sections: all
    subject: "{{ site_name }} 아침 브리핑 {{ date | ko_date }}"
    max_items: 20
    min_items: 1
    settle_minutes: 10
    most_viewed: {count: 5, window: 24h, exclude_listed: false}
    first_window: 24h
  - id: weekly
    name: "주간 뉴스레터"
    weekly: {day: mon, at: "08:00"}
    frequency: weekly
    sections: [politics, economy]
    max_items: 30
    most_viewed: {count: 5, window: 7d}
    first_window: 7d
"""


def schedules(text: str = SCHEDULES) -> Schedules:
    return parse_schedules(text)


def article(n: int, section: str | None, *, published: datetime, **kw: object) -> Article:
    name = dict(SECTIONS).get(section or "", None)
    base: dict[str, object] = {
        "external_id": f"a{n:04d}",
        "url": f"https://news.example.kr/article/{n}",
        "title": f"{name or '속보'} 기사 {n}번: 정부, 내년 예산안 편성 방침 발표",
        "summary": f"기사 {n}의 요약입니다. 기획재정부는 국무회의에서 예산안을 의결했다고 밝혔다.",
        "published_at": published,
        "updated_at": published,
        "section": section,
        "section_name": name,
        "image_url": f"https://img.example.kr/{n}.jpg" if n % 2 == 0 else None,
        "image_caption": f"사진 {n}" if n % 2 == 0 else None,
    }
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def load_store(engine: Engine, *, per_section: int = 3, at: datetime = DUE) -> list[Article]:
    """Sections in order; ``per_section`` articles each, registered an hour before the run."""
    made: list[Article] = []
    with engine.begin() as conn:
        store_articles.ensure_sections(conn, SECTIONS)
        n = 1
        for i, (slug, _name) in enumerate(SECTIONS):
            for j in range(per_section):
                published = at - timedelta(hours=1, minutes=7 * i + j)
                made.append(article(n, slug, published=published))
                n += 1
        store_articles.upsert_articles(conn, made, now=at - timedelta(hours=1))
        ids = store_pageviews.resolve_ids(conn, [a.external_id for a in made])
        hour = (at - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        counts = {(ids[a.external_id], hour): 1000 - k * 10 for k, a in enumerate(made)}
        store_pageviews.add_view_counts(conn, counts)
    return made


def add_subscriber(
    engine: Engine,
    email: str,
    sections: tuple[str, ...] = (),
    *,
    name: str = "",
    frequency: SubscriberFrequency = "daily",
    status: SubscriberStatus = "confirmed",
    now: datetime = DUE - timedelta(days=3),
) -> int:
    with engine.begin() as conn:
        store_subscribers.upsert(
            conn, email=email, name=name, sections=sections, frequency=frequency,
            status=status, now=now,
        )  # fmt: skip
        found = store_subscribers.get_by_email(conn, email)
    assert found is not None
    return found.id


def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A loaded SQLite store and the PUBLISHER_* environment the CLI tests run against."""
    db = tmp_path / "p.db"
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    values = {
        "DATABASE_URL": f"sqlite:///{db}", "TEMPLATES_DIR": str(ROOT / "templates"),
        "SCHEDULES_FILE": str(tmp_path / "schedules.yaml"),
        "SECRET_KEY": "test-secret-key-0123456789", "SITE_NAME": "한빛일보",
        "PUBLIC_BASE_URL": "https://news.example.kr/newsletter",
        "FROM_ADDRESS": "news@news.example.kr", "POSTAL_ADDRESS": "서울특별시 중구 세종대로 1",
    }  # fmt: skip
    for k, v in values.items():
        monkeypatch.setenv(f"PUBLISHER_{k}", v)
    monkeypatch.delenv("PUBLISHER_DEMO", raising=False)
    eng = make_engine(f"sqlite:///{db}")
    upgrade(eng)
    load_store(eng)
    eng.dispose()
    return db
