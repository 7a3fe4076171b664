"""A fixed set of articles and views for the feed tests (and their golden files)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from publisher.core.models import Article
from publisher.core.timeparse import hour_floor
from publisher.store import articles as store_articles
from publisher.store import pageviews as store_pageviews

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
SECTIONS = [("politics", "정치"), ("economy", "경제"), ("environment", "환경")]


def article(n: int, **kw: Any) -> Article:
    slug, name = SECTIONS[n % len(SECTIONS)]
    base: dict[str, Any] = {
        "external_id": f"20261123-{n:04d}",
        "url": f"https://news.example.kr/articles/20261123-{n:04d}",
        "title": f"기사 제목 {n}: 서울 시내 소식",
        "summary": f"요약 {n}. 핵심만 짧게.",
        "content_html": (
            f'<p>본문 {n} 첫 문단.</p><p><a href="https://news.example.kr/a/{n}">관련 기사</a></p>'
        ),
        "author": f"기자{n}",
        "section": slug,
        "section_name": name,
        "tags": ("서울", f"태그{n}"),
        "published_at": T0 - timedelta(minutes=30 * n),
        "updated_at": T0 - timedelta(minutes=30 * n),
    }
    if n % 2 == 0:
        base["image_url"] = f"https://img.example.kr/{n}.jpg"
        base["image_caption"] = f"사진 {n} 설명"
        base["image_type"] = "image/jpeg"
        base["image_length"] = 10_000 + n if n % 4 == 0 else None
    base.update(kw)
    return Article(**base)


def sample_articles() -> list[Article]:
    return [article(n) for n in range(1, 9)]


def load_sample(engine: Engine, *, now: datetime = T0) -> None:
    with engine.begin() as conn:
        store_articles.upsert_articles(conn, sample_articles(), now=now)
        ids = store_pageviews.resolve_ids(conn, [a.external_id for a in sample_articles()])
        counts = {
            (ids[f"20261123-{n:04d}"], hour_floor(now) - timedelta(hours=h)): (9 - n) * 10 + h
            for n in range(1, 9)
            for h in range(3)
        }
        counts[(ids["20261123-0007"], hour_floor(now))] = 1000  # 7 becomes the most viewed
        store_pageviews.add_view_counts(conn, counts)
