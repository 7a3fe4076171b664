"""The store contract: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from publisher.core.models import Article
from publisher.store import articles as store_articles
from publisher.store import pageviews as store_pageviews
from publisher.store.migrate import current_revision, head_revision, upgrade

T = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _article(n: int, **kw: object) -> Article:
    base: dict[str, object] = {
        "external_id": f"20261123-{n:04d}",
        "url": f"https://news.example.kr/a/{n}",
        "title": f"기사 {n}",
        "published_at": T - timedelta(minutes=n),
        "updated_at": T - timedelta(minutes=n),
        "section": "politics",
        "section_name": "정치",
    }
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def test_migrations_twice_is_a_noop(any_engine: Engine) -> None:
    assert current_revision(any_engine) == head_revision()
    before, after = upgrade(any_engine)
    assert before == after == head_revision()


def test_upsert_added_unchanged_updated(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        assert store_articles.upsert_articles(conn, [_article(1), _article(2)], now=T) == [
            "added",
            "added",
        ]
    with any_engine.begin() as conn:
        out = store_articles.upsert_articles(
            conn, [_article(1), _article(2, title="정정된 제목")], now=T + timedelta(hours=1)
        )
    assert out == ["unchanged", "updated"]
    with any_engine.connect() as conn:
        a2 = store_articles.get_article(conn, "20261123-0002")
    assert a2 is not None and a2.title == "정정된 제목"
    assert a2.updated_at == T + timedelta(hours=1)
    assert a2.registered_at == T  # identity and first sighting kept
    assert a2.section_name == "정치"


def test_retract_hides_from_latest_and_most_viewed(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        store_articles.upsert_articles(conn, [_article(1), _article(2)], now=T)
        ids = store_pageviews.resolve_ids(conn, ["20261123-0001", "20261123-0002", "nope"])
        assert set(ids) == {"20261123-0001", "20261123-0002"}
        hour = T.replace(minute=0)
        store_pageviews.add_view_counts(conn, {(ids["20261123-0001"], hour): 10})
        store_pageviews.add_view_counts(conn, {(ids["20261123-0001"], hour): 5})
        store_pageviews.add_view_counts(conn, {(ids["20261123-0002"], hour): 3})
        assert store_articles.set_status(conn, "20261123-0002", "retracted", now=T)
        assert not store_articles.set_status(conn, "missing", "retracted", now=T)
    with any_engine.connect() as conn:
        latest = store_articles.latest_articles(conn, limit=10)
        top = store_pageviews.top_articles(conn, now=T, window=timedelta(hours=24), limit=5)
    assert [a.external_id for a in latest] == ["20261123-0001"]
    assert [(r.rank, r.article.external_id, r.views) for r in top] == [(1, "20261123-0001", 15)]


def test_most_viewed_window_and_tie_break(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        store_articles.upsert_articles(conn, [_article(n) for n in (1, 2, 3)], now=T)
        ids = store_pageviews.resolve_ids(conn, [f"20261123-{n:04d}" for n in (1, 2, 3)])
        now_hour = T.replace(minute=0)
        store_pageviews.add_view_counts(
            conn,
            {
                (ids["20261123-0001"], now_hour): 7,
                (ids["20261123-0002"], now_hour): 7,  # tie with 1: the newer (1) wins
                (ids["20261123-0003"], now_hour - timedelta(hours=30)): 100,  # outside 24h
            },
        )
    with any_engine.connect() as conn:
        top = store_pageviews.top_articles(conn, now=T, window=timedelta(hours=24), limit=5)
        week = store_pageviews.top_articles(conn, now=T, window=timedelta(days=7), limit=1)
    assert [r.article.external_id for r in top] == ["20261123-0001", "20261123-0002"]
    assert [r.article.external_id for r in week] == ["20261123-0003"]


def test_outbox_enqueue_is_idempotent_and_content_stored_once(any_engine: Engine) -> None:
    from publisher.messages.enqueue import NewMessage, enqueue, message_id_for, store_content
    from publisher.store.outbox import get_content

    with any_engine.begin() as conn:
        cid = store_content(conn, key="digest:x:v1", kind="digest", body=b"a\r\n", now=T)
        again = store_content(conn, key="digest:x:v1", kind="digest", body=b"b\r\n", now=T)
        msgs = [
            NewMessage(dedupe_key=f"digest:x:subscriber:{i}", kind="digest",
                       recipient=f"u{i}@example.kr", content_id=cid,
                       substitutions={"%%TO%%": f"u{i}@example.kr"})
            for i in range(3)
        ]  # fmt: skip
        assert enqueue(conn, msgs, now=T, domain="news.example.kr") == 3
    with any_engine.begin() as conn:
        assert enqueue(conn, msgs[:2], now=T, domain="news.example.kr") == 0
        assert get_content(conn, cid) == b"a\r\n"
    assert cid == again
    assert message_id_for("k", "d.kr") == message_id_for("k", "d.kr") != message_id_for("j", "d.kr")


def test_times_on_a_whole_second_compare_equal_to_their_bound(any_engine: Engine) -> None:
    # New articles take the fast insert path; their times must still meet a bound parameter
    # of the same instant (a "since" or "until" on a whole second) as equal.
    with any_engine.begin() as conn:
        store_articles.upsert_articles(conn, [_article(1), _article(2)], now=T)
    with any_engine.connect() as conn:
        since = store_articles.latest_articles(conn, limit=5, since=T - timedelta(minutes=1))
        new = store_articles.registered_between(conn, after=T - timedelta(seconds=1), until=T)
    assert [a.external_id for a in since] == ["20261123-0001"]
    assert [a.external_id for a in new] == ["20261123-0001", "20261123-0002"]
