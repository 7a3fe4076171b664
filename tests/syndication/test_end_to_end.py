"""Done means (issue 17), with the demo corpus: the news sitemap, the index, a ninjs
document and an IndexNow submission are produced and correct; a retraction through the API
takes the article out of the news sitemap, marks its ninjs canceled, pings IndexNow and
emits a signed article.retracted webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import Engine
from standardwebhooks import Webhook
from usp.objects.sitemap import IndexXMLSitemap, PagesXMLSitemap
from usp.tree import sitemap_from_str

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.httpclient import HttpClient
from publisher.core.syndicationsettings import WebhookEndpoint
from publisher.feeds.build import FeedBuilder
from publisher.intake.batch import import_articles
from publisher.intake.demodata import SAMPLES, live_articles
from publisher.intake.records import read_records
from publisher.syndication.indexnow import submit_indexnow
from publisher.syndication.webhooks import deliver_webhooks
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.syndication.receiver import receiver
from tests.webkit import API_KEY

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 18:00 in Seoul, after the last sample
KEY = "demo-indexnow-key-0123"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "ninjs-schema_3.1.json"
GONE = "20261123-0025"


def _news_urls(s: Settings) -> list[str]:
    parsed = sitemap_from_str((Path(s.feeds_dir) / "news-sitemap.xml").read_text("utf-8"))
    assert isinstance(parsed, PagesXMLSitemap)
    for page in parsed.pages:
        assert page.news_story is not None and page.news_story.publication_language == "ko"
    return [p.url for p in parsed.pages]


async def test_demo_corpus_through_every_channel(settings: Settings, engine: Engine) -> None:
    with receiver("/indexnow") as search, receiver("/hook") as hook:
        s = settings.model_copy(update={
            "indexnow_endpoints": [search.url], "indexnow_key": KEY, "api_keys": [API_KEY],
            "webhooks": [WebhookEndpoint(name="portal", url=hook.url, secret=SECRET,
                                         events=["article.retracted"])],
        })  # fmt: skip
        with (SAMPLES / "articles.jsonl").open("rb") as fh:
            records = live_articles(read_records(fh, "jsonl"), base_url=s.public_base_url)
            report = import_articles(engine, records, tz=s.tz, now=NOW)
        assert not report.rejected
        builder = FeedBuilder(s, engine)
        builder.build_syndication(now=NOW)

        news = _news_urls(s)
        assert len(news) == 40 and f"https://news.example.kr/articles/{GONE}" in news
        index = sitemap_from_str((Path(s.feeds_dir) / "sitemap.xml").read_text("utf-8"))
        assert isinstance(index, IndexXMLSitemap)
        assert [i.url.rsplit("/", 1)[1] for i in index.sub_sitemaps] == [
            "news-sitemap.xml", "sitemap-2026-11.xml",
        ]  # fmt: skip

        with HttpClient(timeout=5) as http:
            first = submit_indexnow(s, engine, http, now=NOW)
            # The portal asked for retractions only: the publications are not sent.
            assert deliver_webhooks(s, engine, http, now=NOW).queued == 0
        assert first.submitted == 40 and len(search.requests) == 1
        body = json.loads(search.requests[0].body)
        assert body["host"] == "news.example.kr" and body["key"] == KEY
        assert sorted(body["urlList"]) == sorted(news)

        ctx = WebContext(s, clock=FixedClock(NOW), engine_=engine)
        transport = httpx.ASGITransport(app=create_app(s, context=ctx))
        validator = Draft202012Validator(json.loads(SCHEMA.read_text("utf-8")))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            doc = (await client.get(f"/api/ninjs/{GONE}")).json()
            validator.validate(doc)
            assert doc["pubStatus"] == "usable" and doc["bodies"][0]["value"]
            assert (await client.get(f"/{KEY}.txt")).text == KEY

            # The retraction, as the CMS makes it.
            resp = await client.delete(f"/api/articles/{GONE}", headers={"X-API-Key": API_KEY})
            assert resp.status_code == 200
            builder.build_syndication(now=NOW)
            assert f"https://news.example.kr/articles/{GONE}" not in _news_urls(s)
            assert len(_news_urls(s)) == 39
            gone = (await client.get(f"/api/ninjs/{GONE}")).json()
            validator.validate(gone)
            assert gone["pubStatus"] == "canceled"
        await ctx.close()

        with HttpClient(timeout=5) as http:
            again = submit_indexnow(s, engine, http, now=NOW)
            real_now = datetime.now(UTC)  # the receiver checks the signature's timestamp
            sent = deliver_webhooks(s, engine, http, now=real_now)
        assert again.submitted == 1
        assert json.loads(search.requests[1].body)["urlList"] == [
            f"https://news.example.kr/articles/{GONE}"
        ]
        assert sent.delivered == 1 and len(hook.requests) == 1
        payload = Webhook(SECRET).verify(hook.requests[0].body, hook.requests[0].headers)
        assert payload["type"] == "article.retracted" and payload["data"]["id"] == GONE
