"""feed_queries agree with the queries they summarise, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from publisher.store import articles as store_articles
from publisher.store import pageviews as store_pageviews
from publisher.store.feed_queries import (
    latest_keys,
    popular_keys,
    published_keys,
    views_signature,
)
from tests.feedsample import T0, article


def test_keys_match_latest_and_most_viewed(any_engine: Engine) -> None:
    # 30 articles, many sharing a published time: the id tie-break must match latest_articles.
    batch = [article(n, published_at=T0 - timedelta(minutes=n // 7)) for n in range(1, 31)]
    window = timedelta(hours=24)
    with any_engine.begin() as conn:
        store_articles.upsert_articles(conn, batch, now=T0)
        ids = store_pageviews.resolve_ids(conn, [a.external_id for a in batch])
        store_pageviews.add_view_counts(
            conn, {(i, T0 - timedelta(hours=n % 5)): 10 + n % 3 for n, i in enumerate(ids.values())}
        )
        store_articles.set_status(conn, batch[3].external_id, "retracted", now=T0)
    with any_engine.connect() as conn:
        for limit in (1, 5, 7, 12, 50):
            for section in (None, "politics"):
                want = store_articles.latest_articles(conn, limit=limit, section=section)
                got = latest_keys(conn, limit=limit, section=section)
                assert [k[0] for k in got] == [a.external_id for a in want], (limit, section)
            ranked = store_pageviews.top_articles(conn, now=T0, window=window, limit=limit)
            keys = popular_keys(conn, now=T0, window=window, limit=limit)
            assert [k[0] for k in keys] == [r.article.external_id for r in ranked]
        sig = views_signature(conn, now=T0, window=window)
        everyone = [a.external_id for a in batch]
        assert set(published_keys(conn, everyone)) == set(everyone) - {batch[3].external_id}
    with any_engine.begin() as conn:
        store_pageviews.add_view_counts(conn, {(ids[batch[0].external_id], T0): 1})
    with any_engine.connect() as conn:
        assert views_signature(conn, now=T0, window=window) != sig


def test_stamp_moves_with_a_correction(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        store_articles.upsert_articles(conn, [article(1)], now=T0)
    with any_engine.connect() as conn:
        before = latest_keys(conn, limit=5)
    with any_engine.begin() as conn:
        store_articles.upsert_articles(
            conn, [article(1, title="정정")], now=T0 + timedelta(hours=1)
        )
    with any_engine.connect() as conn:
        after = latest_keys(conn, limit=5)
    assert before[0][0] == after[0][0] and before[0][1] != after[0][1]
