"""Counting honestly: once per (link, client) per window; HEAD, prefetch, scanners and
bursts are machine clicks, stored apart, never email views (issue 16)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from publisher.analytics.links import read_target
from publisher.web.context import WebContext
from tests.analytics.clickkit import READERS, ClickWeb, counts, email_views
from tests.digestkit import NOW

pytestmark = pytest.mark.asyncio
SCANNER_UA = "Mozilla/5.0 (compatible; Barracuda Sentinel link check)"


def _article(cw: ClickWeb, path: str) -> int:
    return read_target(cw.settings.secret_key, path.split("/")[2], now=NOW)[3]


async def test_a_reader_counts_once_per_window_and_becomes_an_email_view(cw: ClickWeb) -> None:
    first, second = cw.links[READERS[0]][:2]
    async with cw.client() as c:
        for _ in range(3):
            assert (await c.get(first)).status_code == 302
        cw.clock.advance(timedelta(minutes=5))
        await c.get(second)
        await cw.ctx.flush_views()
        assert counts(cw.engine) == {(1, "human", ""): 1, (2, "human", ""): 1}
        cw.clock.advance(timedelta(minutes=31))  # a new window: the same reader counts again
        await c.get(first)
    await cw.ctx.flush_views()
    assert counts(cw.engine)[(1, "human", "")] == 2
    assert email_views(cw.engine) == {_article(cw, first): 2, _article(cw, second): 1}


async def test_machines_are_counted_apart_and_never_as_reads(cw: ClickWeb) -> None:
    link = cw.links[READERS[1]][0]
    async with cw.client(ua=SCANNER_UA) as c:
        assert (await c.get(link)).status_code == 302  # a scanner still gets its redirect
    async with cw.client(ip="40.107.12.34") as c:  # Exchange Online Protection's range
        await c.get(link)
    async with cw.client(ip="198.51.100.30") as c:
        assert (await c.head(link)).status_code == 302
    async with cw.client(ip="198.51.100.31") as c:
        await c.get(link, headers={"Sec-Purpose": "prefetch;prerender"})
    async with cw.client(ip="198.51.100.32") as c:
        await c.get(link, headers={"Purpose": "prefetch"})
    async with cw.client(ip="198.51.100.33", ua="curl/8.5.0") as c:
        await c.get(link)
    await cw.ctx.flush_views()
    assert counts(cw.engine) == {
        (1, "machine", "scanner-agent"): 2, (1, "machine", "scanner-network"): 1,
        (1, "machine", "head"): 1, (1, "machine", "prefetch"): 2,
    }  # fmt: skip
    assert email_views(cw.engine) == {}


async def test_a_burst_of_links_is_a_machine_even_its_first_clicks(cw: ClickWeb) -> None:
    links = cw.links[READERS[1]]
    async with cw.client(ip="192.0.2.50") as c:  # a gateway with a browser's User-Agent
        for link in links[:5]:
            await c.get(link)
            cw.clock.advance(timedelta(milliseconds=300))
        await cw.ctx.flush_views()
        # the same client, much later, reading one article: a reader again
        cw.clock.advance(timedelta(hours=1))
        await c.get(links[6])
    await cw.ctx.flush_views()
    found = counts(cw.engine)
    assert found == {**{(p, "machine", "burst"): 1 for p in range(1, 6)}, (7, "human", ""): 1}
    assert email_views(cw.engine) == {_article(cw, links[6]): 1}


async def test_two_readers_clicking_the_same_link_at_once_are_not_a_burst(cw: ClickWeb) -> None:
    link = cw.links[READERS[1]][0]
    for n in range(4):
        async with cw.client(ip=f"198.51.100.{60 + n}") as c:
            await c.get(link)
    await cw.ctx.flush_views()
    assert counts(cw.engine) == {(1, "human", ""): 4}


async def test_an_operator_scanner_list_replaces_the_shipped_one(
    cw: ClickWeb, tmp_path: Path
) -> None:
    from publisher.web.app import create_app

    listing = tmp_path / "scanners.txt"
    listing.write_text("# ours\nagent: NewsroomLinkCheck\nnetwork: 192.0.2.0/24\n", "utf-8")
    s = cw.settings.model_copy(update={"link_scanners_file": listing})
    ctx = WebContext(s, clock=cw.clock, engine_=cw.engine)
    cw.app = create_app(s, context=ctx)
    links = cw.links[READERS[1]]
    async with cw.client(ua="Mozilla/5.0 NewsroomLinkCheck/1.0") as c:
        await c.get(links[0])
    async with cw.client(ip="192.0.2.9") as c:
        await c.get(links[1])
    async with cw.client(ip="40.107.12.34") as c:  # shipped range, not in this list
        await c.get(links[2])
    async with cw.client(ua=SCANNER_UA) as c:  # shipped agent, not in this list
        await c.get(links[3])
    await ctx.close()
    assert counts(cw.engine) == {
        (1, "machine", "scanner-agent"): 1, (2, "machine", "scanner-network"): 1,
        (3, "human", ""): 1, (4, "human", ""): 1,
    }  # fmt: skip


async def test_a_bad_scanner_list_is_named_by_check_and_never_breaks_a_click(
    cw: ClickWeb, tmp_path: Path
) -> None:
    from publisher.daemon.preflight import scanners
    from publisher.web.app import create_app

    listing = tmp_path / "scanners.txt"
    listing.write_text("agent: Fine\nnetwork: 300.1.2.0/24\n", "utf-8")
    s = cw.settings.model_copy(update={"link_scanners_file": listing})
    assert scanners(s) == [f"link_scanners_file: {listing}:2: bad network"]
    assert scanners(cw.settings) == []
    ctx = WebContext(s, clock=cw.clock, engine_=cw.engine)
    cw.app = create_app(s, context=ctx)
    async with cw.client(ua=SCANNER_UA) as c:
        assert (await c.get(cw.links[READERS[1]][0])).status_code == 302
    await ctx.close()
    assert counts(cw.engine) == {(1, "machine", "scanner-agent"): 1}  # the shipped list
