"""The daemon's `syndication` job: listed only when something is configured; one run sends
the webhook deliveries and the IndexNow submissions (real loopback receivers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from standardwebhooks import Webhook

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.syndicationsettings import WebhookEndpoint
from publisher.daemon.jobtable import JobTable
from publisher.intake.articles import write_articles
from tests.digestkit import schedules
from tests.feedsample import sample_articles
from tests.syndication.receiver import receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _names(settings: Settings) -> list[str]:
    app = App(settings=settings, clock=FixedClock(datetime.now(UTC)))
    try:
        rt = JobTable(app)
        names = [j.job_id for j in rt.jobs(schedules())]
        rt.http.close()
        return names
    finally:
        app.close()


def test_job_listed_only_when_configured(settings: Settings) -> None:
    assert "syndication" not in _names(settings)
    s = settings.model_copy(update={"indexnow_endpoints": ["https://www.bing.com/indexnow"],
                                    "indexnow_key": "abcdef123456"})  # fmt: skip
    assert "syndication" in _names(s)


def test_one_run_delivers_webhooks_and_indexnow(settings: Settings, engine: Engine) -> None:
    now = datetime.now(UTC)
    with receiver("/hook") as hook, receiver("/indexnow") as search:
        s = settings.model_copy(
            update={
                "webhooks": [WebhookEndpoint(name="cms", url=hook.url, secret=SECRET)],
                "indexnow_endpoints": [search.url], "indexnow_key": "abcdef123456",
            }
        )  # fmt: skip
        write_articles(engine, sample_articles()[:2], now=now)
        app = App(settings=s, clock=FixedClock(now))
        rt = JobTable(app)
        try:
            asyncio.run(rt.syndication())
        finally:
            rt.http.close()
            app.close()
        assert len(hook.requests) == 2 and len(search.requests) == 1
        for req in hook.requests:
            Webhook(SECRET).verify(req.body, req.headers)
