"""Cleanup: pending sign-ups expire, old outbox rows go, old view hours fold into days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from publisher.core.models import Article
from publisher.store import articles as store_articles
from publisher.store import cleanup
from publisher.store import pageviews as store_pageviews
from publisher.store.schema import subscribers, view_buckets

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_pending_subscribers_older_than_a_week_are_purged(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        for email, status, age in [("old@x.kr", "pending", 8), ("new@x.kr", "pending", 2),
                                   ("ok@x.kr", "confirmed", 30)]:  # fmt: skip
            conn.execute(
                insert(subscribers).values(
                    email=email,
                    name="",
                    status=status,
                    frequency="daily",
                    created_at=NOW - timedelta(days=age),
                )
            )
        assert cleanup.purge_pending_subscribers(conn, before=NOW - timedelta(days=7)) == 1
        left = {r.email for r in conn.execute(select(subscribers.c.email))}
    assert left == {"new@x.kr", "ok@x.kr"}


def test_old_view_hours_fold_into_days_keeping_totals(any_engine: Engine) -> None:
    old_day = datetime(2026, 8, 1, tzinfo=UTC)
    with any_engine.begin() as conn:
        store_articles.upsert_articles(
            conn,
            [Article(external_id="a1", url="https://n.kr/a1", title="t", published_at=old_day,
                     updated_at=old_day)],
            now=old_day,
        )  # fmt: skip
        aid = store_pageviews.resolve_ids(conn, ["a1"])["a1"]
        recent = NOW.replace(minute=0)
        store_pageviews.add_view_counts(
            conn,
            {(aid, old_day + timedelta(hours=h)): 10 for h in (0, 3, 15)} | {(aid, recent): 4},
        )
        assert cleanup.rollup_views(conn, before=NOW - timedelta(days=90)) == 2
        assert cleanup.rollup_views(conn, before=NOW - timedelta(days=90)) == 0  # idempotent
        rows = conn.execute(
            select(view_buckets.c.hour, view_buckets.c.count).order_by(view_buckets.c.hour)
        ).all()
        total = conn.execute(select(func.sum(view_buckets.c.count))).scalar()
    assert [(hour, count) for hour, count in rows] == [(old_day, 30), (recent, 4)]
    assert total == 34
