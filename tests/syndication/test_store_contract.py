"""The syndication queries on both backends (SQLite and PostgreSQL): sitemaps, events and
their cursors, the IndexNow queue, ninjs versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.feeds.sitemaps import SitemapBuilder
from publisher.intake.articles import set_status, write_articles
from publisher.store import events as store_events
from publisher.store import indexnow as store_indexnow
from publisher.store import webhooks as store_webhooks
from publisher.store.syndicationschema import events
from publisher.syndication import ninjs
from tests.feedsample import T0, article, sample_articles


def test_sitemaps_on_both_backends(any_engine: Engine, settings: Settings) -> None:
    at = datetime(2026, 10, 5, 12, 30, tzinfo=UTC)
    october = article(30, published_at=at, updated_at=at)
    write_articles(any_engine, [*sample_articles(), october], now=T0)
    builder = SitemapBuilder(settings, any_engine)
    first = {r.path: (r.urls, r.changed) for r in builder.build(now=T0)}
    assert first["sitemap-2026-11.xml"] == (8, True) and first["sitemap-2026-10.xml"] == (1, True)
    assert first["news-sitemap.xml"] == (8, True)
    month = (Path(settings.feeds_dir) / "sitemap-2026-10.xml").read_text("utf-8")
    assert "<lastmod>2026-10-05T12:30:00Z</lastmod>" in month
    assert not any(r.changed for r in builder.build(now=T0))
    set_status(any_engine, october.external_id, "retracted", now=T0 + timedelta(minutes=1))
    again = {r.path: r.changed for r in builder.build(now=T0 + timedelta(minutes=1))}
    assert "sitemap-2026-10.xml" not in again and again["sitemap.xml"]
    assert not (Path(settings.feeds_dir) / "sitemap-2026-10.xml").exists()


def test_events_cursors_queues_and_versions(any_engine: Engine, settings: Settings) -> None:
    write_articles(any_engine, sample_articles()[:2], now=T0)
    write_articles(any_engine, [article(1, title="정정")], now=T0 + timedelta(minutes=1))
    with any_engine.begin() as conn:
        assert store_events.cursor(conn, "x") is None
        found = store_events.events_after(conn, 0)
        assert [e.type for e in found] == ["article.published"] * 2 + ["article.updated"]
        store_events.set_cursor(conn, "x", found[0].seq)
        store_events.set_cursor(conn, "x", found[1].seq)
        assert store_events.cursor(conn, "x") == found[1].seq
        store_webhooks.queue(conn, "hook", [e.seq for e in found], now=T0)
        store_webhooks.queue(conn, "hook", [e.seq for e in found], now=T0)  # no duplicates
        due = store_webhooks.due(conn, "hook", now=T0, limit=10)
        assert len(due) == 3
        streak = store_webhooks.failed(conn, due[0].id, error="HTTP 500", retry_at=T0, now=T0)
        assert streak == 1
        queued = store_indexnow.take_events(conn, ["https://e.example/indexnow"], start=0, now=T0)
        assert queued == 2  # two URLs, the corrected one once
    state = store_webhooks.states
    with any_engine.connect() as conn:
        (hook,) = state(conn, ["hook"])
        assert (hook.pending, hook.failures, hook.failing_since) == (3, 1, T0)
    doc = ninjs.document(settings, any_engine, sample_articles()[0].external_id, full_text=True)
    assert doc is not None and doc["version"] == "2"


def test_a_consumer_stops_at_a_gap_until_it_settles(any_engine: Engine) -> None:
    """An id gap may be a transaction still to commit (PostgreSQL): read up to it, and past
    it only once the event after it is older than GAP_GRACE (an insert rolled back)."""
    with any_engine.begin() as conn:
        for n in range(3):
            store_events.record_event(conn, "bounce", f"s{n}", {}, now=T0)
        seqs = [e.seq for e in store_events.events_after(conn, 0)]
        conn.execute(events.delete().where(events.c.id == seqs[1]))  # a hole, as a late commit
        soon = store_events.settled_after(conn, 0, now=T0 + timedelta(seconds=5))
        assert [e.seq for e in soon] == seqs[:1]
        late = store_events.settled_after(conn, 0, now=T0 + store_events.GAP_GRACE)
        assert [e.seq for e in late] == [seqs[0], seqs[2]]


def test_delivered_webhooks_are_purged_pending_kept(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        store_events.record_event(conn, "bounce", "a", {}, now=T0)
        store_events.record_event(conn, "bounce", "b", {}, now=T0)
        seqs = [e.seq for e in store_events.events_after(conn, 0)]
        store_webhooks.queue(conn, "hook", seqs, now=T0)
        first = store_webhooks.due(conn, "hook", now=T0, limit=10)[0]
        store_webhooks.delivered(conn, first.id, now=T0)
        assert store_webhooks.purge_delivered(conn, before=T0) == 0
        assert store_webhooks.purge_delivered(conn, before=T0 + timedelta(days=31)) == 1
        (hook,) = store_webhooks.states(conn, ["hook"])
        assert (hook.pending, hook.delivered) == (1, 0)
