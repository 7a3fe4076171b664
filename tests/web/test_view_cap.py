"""One client cannot rank an article: views_per_ip_article_hour caps what one IP adds to one
article per hour, however many visitor ids it rotates through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.webkit import Web, open_web, web_settings

pytestmark = pytest.mark.asyncio
ARTICLE = "a0009"  # 920 sample views; the top article (a0001) has 1000


@pytest_asyncio.fixture
async def web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    # The per-minute limit out of the way; the proxy at 203.0.113.7 (the test client) is
    # trusted, so X-Forwarded-For names the client.
    s = web_settings(settings, views_per_ip_minute=100_000, trust_forwarded_for=True,
                     trusted_proxies=["203.0.113.7"])  # fmt: skip
    async for w in open_web(s, engine, clock):
        yield w


async def hits(web: Web, n: int, client: str, *, start: int = 0, pixel: bool = False) -> None:
    for i in range(start, start + n):
        forwarded = {"X-Forwarded-For": client}
        if pixel:  # a new user agent is a new visitor for the pixel
            ua = {"User-Agent": f"Mozilla/5.0 (X11; Linux x86_64) Chrome/{i}"}
            r = await web.client.get(f"/v/{ARTICLE}.gif", headers=ua | forwarded)
            assert r.status_code == 200
        else:
            hit = {"article_id": ARTICLE, "visitor": f"v{i}"}
            r = await web.client.post("/api/views", json=hit, headers=forwarded)
            assert r.status_code == 204  # the same answer: nothing tells the client it was capped


async def top(web: Web) -> list[tuple[str, int]]:
    await web.ctx.flush_views()
    web.ctx.state.get("views", {}).get("cache", {}).clear()
    r = await web.client.get("/api/most-viewed?window=24h&limit=3")
    return [(i["id"], i["views"]) for i in r.json()["items"]]


async def test_rotating_visitor_ids_from_one_ip_add_three_views(web: Web) -> None:
    await hits(web, 1200, "198.51.100.7")
    ranked = await top(web)
    assert ranked[0][0] == "a0001"
    assert web.ctx.recorder.stats.capped == 1197
    await hits(web, 300, "198.51.100.7", start=1200, pixel=True)  # the pixel: same cap
    assert web.ctx.recorder.stats.capped == 1497


async def test_ipv6_clients_are_capped_per_64(web: Web) -> None:
    for i in range(20):
        await hits(web, 1, f"2001:db8:1:2::{i + 1:x}", start=i)
    assert web.ctx.recorder.stats.counted == 3
    await hits(web, 1, "2001:db8:1:3::1", start=99)  # another /64: another client
    assert web.ctx.recorder.stats.counted == 4


async def test_many_readers_and_the_next_hour_still_count(web: Web) -> None:
    for n in range(100):
        await hits(web, 1, f"198.51.100.{n}", start=n)
    assert web.ctx.recorder.stats.counted == 100
    await hits(web, 5, "203.0.113.50", start=500)
    web.clock.advance(timedelta(hours=1))
    await hits(web, 5, "203.0.113.50", start=600)
    assert web.ctx.recorder.stats.counted == 106
    assert dict(await top(web)).get(ARTICLE) == 920 + 106
