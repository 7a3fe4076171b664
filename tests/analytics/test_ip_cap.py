"""One address cannot rank an article by rotating its User-Agent: at most
clicks_per_ip_article_hour people's clicks per address (an IPv6 client's /64) and article per
hour; the rest are machine clicks, reason "ip-cap", and never email views (issue 16)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from publisher.analytics.links import read_target
from publisher.intake.pageviews import most_viewed
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.analytics.clickkit import READERS, ClickWeb, counts, email_views
from tests.digestkit import NOW
from tests.webkit import API_KEY

pytestmark = pytest.mark.asyncio
PROXY = "203.0.113.7"


def _ua(n: int) -> str:
    return f"Mozilla/5.0 (Linux; Android 14; SM-S91{n}) AppleWebKit/537.36 Chrome/{n}"


def _top(cw: ClickWeb) -> list[int]:
    ranked = most_viewed(cw.engine, now=cw.clock.now(), window=timedelta(hours=24), limit=5)
    return [r.article.id or 0 for r in ranked]


def _link_of(cw: ClickWeb, article_id: int) -> tuple[int, str]:
    for n, path in enumerate(cw.links[READERS[1]], 1):
        if read_target(cw.settings.secret_key, path.split("/")[2], now=NOW)[3] == article_id:
            return n, path
    raise AssertionError(f"no link to article {article_id}")


@pytest_asyncio.fixture
async def proxied(cw: ClickWeb) -> AsyncIterator[ClickWeb]:
    """The app behind a trusted proxy (the test client's address): X-Forwarded-For names
    the client."""
    s = cw.settings.model_copy(update={"trust_forwarded_for": True, "trusted_proxies": [PROXY]})
    ctx = WebContext(s, clock=cw.clock, engine_=cw.engine)
    cw.app, cw.ctx = create_app(s, context=ctx), ctx
    yield cw
    await ctx.close()


async def test_rotating_user_agents_from_one_address_cannot_rank_an_article(
    cw: ClickWeb,
) -> None:
    cw.clock.advance(timedelta(hours=1))
    before = _top(cw)
    target = next(a for a in range(1, 19) if a not in before)  # 950 views; the top has 1,000
    position, link = _link_of(cw, target)
    for n in range(400):  # the attack as reproduced: one address, a new User-Agent each time
        async with cw.client(ip="127.0.0.1", ua=_ua(n)) as c:
            assert (await c.get(link)).status_code == 302  # every one still redirected
    await cw.ctx.flush_views()
    assert counts(cw.engine) == {(position, "human", ""): 3, (position, "machine", "ip-cap"): 397}
    assert email_views(cw.engine) == {target: 3}
    async with cw.client() as c:
        ranked = (await c.get("/api/most-viewed", params={"limit": 5})).json()["items"]
        report = (
            await c.get(f"/api/runs/{cw.run_id}/report", headers={"X-API-Key": API_KEY})
        ).json()
    assert target not in _top(cw) and len(ranked) == 5 and _top(cw) == before
    assert report["human"] == 3 and report["unique_clicks_estimate"] <= 3
    assert report["machine_by_reason"] == {"ip-cap": 397}


async def test_the_cap_is_per_article_and_per_hour(cw: ClickWeb) -> None:
    links = cw.links[READERS[1]]
    async with cw.client(ip="198.51.100.9") as c:
        for n in range(5):  # one household, one article, minutes apart (not a burst)
            await c.get(links[0], headers={"User-Agent": _ua(n)})
            cw.clock.advance(timedelta(seconds=30))
        await c.get(links[1], headers={"User-Agent": _ua(9)})  # another article: its own cap
    cw.clock.advance(timedelta(hours=1))
    async with cw.client(ip="198.51.100.9", ua=_ua(99)) as c:
        await c.get(links[0])  # the next hour
    await cw.ctx.flush_views()
    assert counts(cw.engine) == {
        (1, "human", ""): 4, (1, "machine", "ip-cap"): 2, (2, "human", ""): 1,
    }  # fmt: skip


async def test_behind_a_proxy_the_cap_counts_the_real_client_and_ipv6_by_64(
    proxied: ClickWeb,
) -> None:
    cw = proxied
    link = cw.links[READERS[1]][0]
    async with cw.client(ip=PROXY) as c:
        for n in range(10):  # one IPv6 line, a new address and User-Agent each time
            forwarded = {"X-Forwarded-For": f"2001:db8:1:2::{n + 1:x}", "User-Agent": _ua(n)}
            assert (await c.get(link, headers=forwarded)).status_code == 302
        await c.get(link, headers={"X-Forwarded-For": "2001:db8:1:3::1"})  # another /64
        for n in range(20):  # twenty readers behind the proxy: each their own address
            await c.get(link, headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
        # a client's own X-Forwarded-For before the proxy's entry changes nothing
        for n in range(5):
            forged = {"X-Forwarded-For": f"10.9.9.{n}, 192.0.2.77", "User-Agent": _ua(n)}
            await c.get(link, headers=forged)
    await cw.ctx.flush_views()
    assert counts(cw.engine) == {(1, "human", ""): 3 + 1 + 20 + 3, (1, "machine", "ip-cap"): 7 + 2}


async def test_the_cap_is_a_setting(cw: ClickWeb) -> None:
    update: dict[str, Any] = {"clicks_per_ip_article_hour": 10}
    s = cw.settings.model_copy(update=update)
    ctx = WebContext(s, clock=cw.clock, engine_=cw.engine)
    cw.app = create_app(s, context=ctx)
    for n in range(12):
        async with cw.client(ip="192.0.2.40", ua=_ua(n)) as c:
            await c.get(cw.links[READERS[0]][0])
    await ctx.close()
    assert counts(cw.engine) == {(1, "human", ""): 10, (1, "machine", "ip-cap"): 2}
