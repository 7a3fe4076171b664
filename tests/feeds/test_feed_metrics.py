"""/metrics after the daemon's feed job: publisher_feed_articles counts what the feeds can show."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.daemon.jobtable import JobTable
from publisher.store import articles as store_articles
from tests.feedsample import T0, article, load_sample


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> Iterator[JobTable]:
    app = App(settings=settings, clock=FixedClock(T0))
    rt = JobTable(app)
    yield rt
    rt.http.close()
    app.close()


def _scrape(rt: JobTable) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = rt.metrics.render()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
    }


def test_feed_articles_gauge_follows_the_store_after_each_feed_build(
    runtime: JobTable, engine: Engine
) -> None:
    load_sample(engine)  # 8 published articles
    asyncio.run(runtime.feeds())
    scraped = _scrape(runtime)
    assert scraped[("publisher_job_last_success", (("job", "feeds"),))] == 1
    assert scraped[("publisher_feed_articles", ())] == 8

    # A retraction leaves the feeds, a new article enters them: the next build reports both.
    with engine.begin() as conn:
        store_articles.set_status(conn, "20261123-0007", "retracted", now=T0)
        store_articles.upsert_articles(conn, [article(9), article(10)], now=T0)
    asyncio.run(runtime.feeds())
    assert _scrape(runtime)[("publisher_feed_articles", ())] == 9
