"""The view recorder the HTTP layer calls per hit, bulk counts, and the most-viewed ranking."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from publisher.core.clock import FixedClock
from publisher.core.models import Article
from publisher.intake.pagehits import ViewRecorder, is_bot
from publisher.intake.pageviews import import_view_counts, most_viewed
from publisher.intake.records import read_jsonl
from publisher.store import articles as store_articles
from publisher.store.schema import view_buckets

T = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"


def add_articles(engine: Engine, *numbers: int) -> None:
    batch = [
        Article(
            external_id=f"a{n}", url=f"https://news.example.kr/a/{n}", title=f"기사 {n}",
            published_at=T - timedelta(hours=n), updated_at=T - timedelta(hours=n),
            section="politics" if n % 2 else "economy",
        )
        for n in numbers
    ]  # fmt: skip
    with engine.begin() as conn:
        store_articles.upsert_articles(conn, batch, now=T)


def buckets(engine: Engine) -> list[tuple[datetime, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(view_buckets.c.hour, view_buckets.c.count).order_by("hour"))
        return [(hour, count) for hour, count in rows]


@pytest.mark.parametrize(
    "agent",
    ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "Mozilla/5.0 (compatible; Yeti/1.1; +https://naver.me/spd)", "Daumoa/4.0",
     "facebookexternalhit/1.1", "curl/8.4.0", "python-requests/2.31", "", "   "],
)  # fmt: skip
def test_known_bots_are_ignored(engine: Engine, agent: str) -> None:
    add_articles(engine, 1)
    rec = ViewRecorder(engine)
    assert is_bot(agent)
    assert rec.record_hit("a1", "v1", agent, T) is False
    rec.flush()
    assert buckets(engine) == []
    assert not is_bot(BROWSER)


# Real-world user agents. Phones whose model contains "bot" (CUBOT) are readers, not bots.
READERS = [
    "Mozilla/5.0 (Linux; Android 10; CUBOT P40) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.6045.163 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36;KAKAOTALK 10.4.5",
    "Mozilla/5.0 (Linux; Android 14; SM-A546N) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    BROWSER,
]
BOTS = [
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/79.0.3945.88 Safari/537.36",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Yeti/1.1; +https://naver.me/spd)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    # A crawler posing as a CUBOT phone is still caught by its own name.
    "Mozilla/5.0 (Linux; Android 10; CUBOT P40) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 (compatible; Googlebot/2.1)",
]


@pytest.mark.parametrize(
    ("agent", "bot"), [(a, False) for a in READERS] + [(a, True) for a in BOTS]
)
def test_real_world_user_agents(agent: str, bot: bool) -> None:
    assert is_bot(agent) is bot


def test_repeats_within_30_minutes_collapse(engine: Engine) -> None:
    add_articles(engine, 1, 2)
    rec = ViewRecorder(engine, flush_every=timedelta(hours=2))
    hits = [
        ("a1", "v1", T),
        ("a1", "v1", T + timedelta(minutes=10)),  # repeat: collapsed
        ("a1", "v1", T + timedelta(minutes=29, seconds=59)),  # still collapsed
        ("a1", "v1", T + timedelta(minutes=30)),  # 30 min after the counted one: counts
        ("a1", "v2", T + timedelta(minutes=1)),  # another visitor counts
        ("a2", "v1", T + timedelta(minutes=1)),  # another article counts
    ]
    counted = [rec.record_hit(a, v, BROWSER, at) for a, v, at in hits]
    assert counted == [True, False, False, True, True, True]
    assert rec.stats.collapsed == 2 and rec.buffered == 4
    assert rec.flush() == 4
    assert sum(n for _, n in buckets(engine)) == 4


def test_hourly_buckets_and_batched_flush(engine: Engine) -> None:
    add_articles(engine, 1)
    rec = ViewRecorder(engine, flush_every=timedelta(hours=1))
    for i in range(6):  # 01:00, 01:20, 01:40, 02:00, 02:20, 02:40 UTC, each a new visitor
        rec.record_hit("a1", f"v{i}", BROWSER, T + timedelta(minutes=20 * i))
    # The 02:00 hit found the buffer an hour old: everything so far was written in one go.
    assert buckets(engine) == [(T, 3), (T + timedelta(hours=1), 1)]
    assert rec.buffered == 2
    rec.flush()
    assert buckets(engine) == [(T, 3), (T + timedelta(hours=1), 3)]


def test_flush_when_buffer_is_full(engine: Engine) -> None:
    add_articles(engine, 1)
    rec = ViewRecorder(engine, max_buffered=5)
    for i in range(12):
        rec.record_hit("a1", f"v{i}", BROWSER, T)
    assert buckets(engine) == [(T, 10)] and rec.buffered == 2


def test_unknown_articles_are_dropped_and_counted(engine: Engine) -> None:
    add_articles(engine, 1)
    rec = ViewRecorder(engine)
    rec.record_hit("a1", "v", BROWSER, T)
    rec.record_hit("nope", "v", BROWSER, T)
    assert rec.flush() == 1
    assert rec.stats.unknown_articles == 1


def test_naive_time_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ViewRecorder(engine).record_hit("a1", "v", BROWSER, datetime(2026, 11, 23))


def test_most_viewed_ranking(engine: Engine, clock: FixedClock) -> None:
    add_articles(engine, 1, 2, 3, 4, 5)
    rec = ViewRecorder(engine)
    views = {"a1": 5, "a2": 5, "a3": 9, "a4": 2, "a5": 7}
    for article, n in views.items():
        for v in range(n):
            rec.record_hit(article, f"v{v}", BROWSER, T - timedelta(minutes=30))
    for v in range(50):  # outside a 24h window
        rec.record_hit("a4", f"old{v}", BROWSER, T - timedelta(hours=30))
    rec.flush()
    with engine.begin() as conn:
        store_articles.set_status(conn, "a5", "retracted", now=T)
    now = clock.now()
    top = most_viewed(engine, now=now, window=timedelta(hours=24), limit=3)
    # a5 (7 views) is retracted; a1 and a2 tie and the newer (a1) wins.
    assert [(r.rank, r.article.external_id, r.views) for r in top] == [
        (1, "a3", 9), (2, "a1", 5), (3, "a2", 5)
    ]  # fmt: skip
    week = most_viewed(engine, now=now, window=timedelta(days=7), limit=1)
    assert [r.article.external_id for r in week] == ["a4"]
    politics = most_viewed(engine, now=now, window=timedelta(hours=24), limit=5, section="economy")
    assert [r.article.external_id for r in politics] == ["a2", "a4"]
    assert most_viewed(engine, now=now, window=timedelta(hours=24), limit=0) == []


def test_bulk_import_of_analytics_counts(engine: Engine) -> None:
    add_articles(engine, 1, 2)
    rows = [
        {"article_id": "a1", "count": 120, "at": "2026-11-23T09:10:00+09:00"},
        {"article_id": "a1", "count": 30, "at": "2026-11-23T09:50:00+09:00"},
        {"article_id": "a2", "count": 7, "at": "2026-11-23T08:00:00"},
        {"article_id": "ghost", "count": 5, "at": "2026-11-23T09:00:00+09:00"},
        {"article_id": "a1", "count": -3, "at": "2026-11-23T09:00:00+09:00"},
        {"article_id": "a1", "count": 3, "at": "9999-01-01T00:00:00Z"},
        {"count": 3, "at": "2026-11-23T09:00:00+09:00"},
    ]
    data = b"".join(json.dumps(r).encode() + b"\n" for r in rows) + b'{"article_id": "a'
    report = import_view_counts(engine, read_jsonl(io.BytesIO(data)), tz=ZoneInfo("Asia/Seoul"))
    assert (report.records, report.views) == (3, 157)
    assert [(p.line, p.field) for p in report.rejected] == [
        (4, "article_id"), (5, "count"), (6, "at"), (7, "article_id"), (8, "")
    ]  # fmt: skip
    assert buckets(engine) == [(T - timedelta(hours=2), 7), (T - timedelta(hours=1), 150)]


def test_without_auto_flush_only_the_owner_writes(engine: Engine) -> None:
    add_articles(engine, 1)
    rec = ViewRecorder(engine, max_buffered=2, auto_flush=False)
    for i in range(5):
        rec.record_hit("a1", f"v{i}", BROWSER, T + timedelta(hours=i))
    assert buckets(engine) == [] and rec.buffered == 5
    assert rec.flush() == 5 and rec.buffered == 0


def test_one_source_adds_at_most_its_cap_per_article_and_hour(engine: Engine) -> None:
    add_articles(engine, 1, 2)
    rec = ViewRecorder(engine, per_source_hour=2)
    counted = [rec.record_hit("a1", f"v{i}", BROWSER, T, source="ip1") for i in range(5)]
    assert counted == [True, True, False, False, False] and rec.stats.capped == 3
    assert rec.record_hit("a1", "v0", BROWSER, T, source="ip1") is False  # a repeat: collapsed
    assert rec.stats.collapsed == 1 and rec.stats.capped == 3  # ... not charged to the cap
    assert rec.record_hit("a2", "v9", BROWSER, T, source="ip1")  # another article
    assert rec.record_hit("a1", "v9", BROWSER, T, source="ip2")  # another source
    assert rec.record_hit("a1", "v7", BROWSER, T + timedelta(hours=1), source="ip1")  # next hour
    assert rec.record_hit("a1", "v8", BROWSER, T)  # no source given: no cap
    rec.flush()
    assert sum(n for _, n in buckets(engine)) == 6
