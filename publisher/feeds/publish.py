"""The feed job: build every feed, then ping the WebSub hubs about the ones that changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.core.config import Settings
from publisher.core.httpclient import HttpClient
from publisher.feeds.build import INDEX, FeedBuilder, FeedResult
from publisher.feeds.websub import PENDING_FILE, FormPoster, PingReport, publish
from publisher.store.articles import count_articles
from publisher.store.types import Engine


@dataclass(frozen=True, slots=True)
class FeedRun:
    results: list[FeedResult]
    pings: PingReport


def run_feeds(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime,
    force: bool = False,
    builder: FeedBuilder | None = None,
    client: FormPoster | None = None,
) -> FeedRun:
    builder = builder or FeedBuilder(settings, engine)
    results = builder.build(now=now, force=force)
    results += builder.build_syndication(now=now, force=force)
    hubs = settings.websub_hubs
    if not hubs and not (Path(settings.feeds_dir) / PENDING_FILE).exists():
        return FeedRun(results, PingReport(0, 0, 0))
    changed = [r.url for r in results if r.changed and r.path != INDEX and r.kind == "feed"]
    if client is not None:
        pings = publish(hubs=hubs, changed_urls=changed, state_dir=builder.root, client=client)
    else:
        with HttpClient() as http:
            pings = publish(hubs=hubs, changed_urls=changed, state_dir=builder.root, client=http)
    return FeedRun(results, pings)


def published_articles(engine: Engine) -> int:
    """What feeds can show: retracted articles are in the store but in no feed."""
    with engine.connect() as conn:
        return count_articles(conn).get("published", 0)
