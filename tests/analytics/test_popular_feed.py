"""Email reads reach the popular feed: a batch of people's clicks rebuilds it with the read
article first, and a weight of 0 for email leaves it as it was (issue 16)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from publisher.analytics import sketch
from publisher.core.config import Settings
from publisher.feeds.build import build_feeds
from publisher.store import clicks as store_clicks
from publisher.store import pageviews as store_pageviews
from publisher.store.clicks import ClickBatch
from tests.feedcheck import check_feed
from tests.feedsample import T0, load_sample


def _first(settings: Settings) -> str:
    rel = "popular/atom.xml"
    return check_feed(rel, (Path(settings.feeds_dir) / rel).read_bytes())[0].id


def test_email_reads_move_the_popular_feed(settings: Settings, engine: Engine) -> None:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    before = _first(settings)
    with engine.connect() as conn:
        target = store_pageviews.resolve_ids(conn, ["20261123-0008"])["20261123-0008"]
    batch = ClickBatch(clicks={}, email_views={(target, T0): 5000}, sketches={})
    store_clicks.write_batch(engine, batch, sketch.merge)
    weighted_out = settings.model_copy(update={"most_viewed_sources": {"web": 1.0, "email": 0}})
    build_feeds(weighted_out, engine, now=T0)
    assert _first(settings) == before
    changed = {r.path for r in build_feeds(settings, engine, now=T0) if r.changed}
    assert changed == {"popular/rss.xml", "popular/atom.xml", "popular/feed.json"}
    assert _first(settings).endswith("20261123-0008") and before != _first(settings)
