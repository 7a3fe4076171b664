"""Counting at its edges (found by a review): a burst across the burst table's new
generation, a prefetch or HEAD before the reader's own click, a burst split by a flush with
per-reader links, and a flood on one reader's message."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, select

from publisher.analytics import counting
from publisher.analytics.counting import MAX_GROUP, Click, ClickRecorder
from publisher.analytics.scanners import Scanners
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.store import clicks as store_clicks
from publisher.store.clickschema import reader_clicks
from publisher.store.db import StoreError
from tests.analytics.clickkit import READERS, ClickWeb, counts, open_clicks
from tests.webkit import web_settings


def _machine(engine: Engine) -> int:
    return sum(n for (_p, kind, _r), n in counts(engine).items() if kind == "machine")


def _kept(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reader_clicks)).scalar_one())


@pytest_asyncio.fixture
async def pr(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[ClickWeb]:
    async for w in open_clicks(web_settings(settings, track_per_reader=True), engine, clock):
        yield w


@pytest.mark.asyncio
@pytest.mark.parametrize("after", [5.0, 11.5])  # 11.5 s: the burst spans a new generation
async def test_a_burst_is_seen_whenever_it_starts(cw: ClickWeb, after: float) -> None:
    async with cw.client(ip="198.51.100.7") as c:  # a reader's click starts a generation
        await c.get(cw.links[READERS[1]][0])
    cw.clock.advance(timedelta(seconds=after))
    async with cw.client(ip="203.0.113.5") as c:  # a gateway opens three links in a second
        for link in cw.links[READERS[0]][:3]:
            assert (await c.get(link)).status_code == 302
            cw.clock.advance(timedelta(seconds=0.5))
    await cw.ctx.flush_views()
    assert _machine(cw.engine) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize("first", ["prefetch", "head"])
async def test_a_prefetch_or_head_does_not_swallow_the_readers_click(
    cw: ClickWeb, first: str
) -> None:
    link = cw.links[READERS[0]][0]
    async with cw.client(ip="198.51.100.60") as c:
        if first == "head":
            await c.head(link)
        else:
            await c.get(link, headers={"Sec-Purpose": "prefetch"})
        cw.clock.advance(timedelta(seconds=20))
        assert (await c.get(link)).status_code == 302  # the reader then clicks it
    await cw.ctx.flush_views()
    got = counts(cw.engine)
    assert got.get((1, "human", ""), 0) == 1 and _machine(cw.engine) == 1, got


@pytest.mark.asyncio
@pytest.mark.parametrize("flush_between", [False, True])
async def test_a_burst_leaves_nothing_in_the_readers_records(
    pr: ClickWeb, flush_between: bool
) -> None:
    links = pr.links[READERS[0]]
    async with pr.client(ip="203.0.113.5") as c:
        await c.get(links[0])
        if flush_between:  # the flush timer fires inside the burst
            await pr.ctx.flush_views()
            assert _kept(pr.engine) == 1
        for link in links[1:3]:
            pr.clock.advance(timedelta(seconds=0.5))
            await c.get(link)
    await pr.ctx.flush_views()
    assert _machine(pr.engine) == 3 and _kept(pr.engine) == 0


def test_a_flood_on_one_readers_message_keeps_a_bounded_group(engine: Engine) -> None:
    """Rotating User-Agents on one reader's link: every request is new to the dedupe, all
    in one burst group; the group keeps at most MAX_GROUP clicks (constant work per click)."""
    recorder = ClickRecorder(engine, Scanners.load(), per_reader=True, per_ip_hour=3,
                             auto_flush=False)  # fmt: skip
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for i in range(2000):
        recorder.record(Click(target=(1, 1, 1 + i % 3, 10 + i % 3), client="203.0.113.9",
                              user_agent=f"Firefox/{i}", reader=7,
                              at=start + timedelta(milliseconds=i)))  # fmt: skip
    assert max(len(g) for g in recorder._recent.values()) <= MAX_GROUP + 1
    assert recorder.stats.human <= 2  # the third link made it a burst


def test_while_the_store_is_down_held_clicks_stay_bounded(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Flushes that fail keep what they took for the next try; reader rows and unique
    clients are per click, so they are capped (oldest first, at ERROR); counts are kept."""
    monkeypatch.setattr(counting, "MAX_HELD", 10)
    recorder = ClickRecorder(engine, Scanners.load(), per_reader=True, auto_flush=False)
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for i in range(30):
        recorder.record(Click(target=(1, 1, 1, 10), client=f"198.51.100.{i}", user_agent="UA",
                              reader=i + 1, at=start + timedelta(seconds=10 * i)))  # fmt: skip
    real = store_clicks.write_batch

    def down(*args: object, **kwargs: object) -> int:
        raise StoreError("database_url: cannot write: disk I/O error")

    monkeypatch.setattr(store_clicks, "write_batch", down)
    with pytest.raises(StoreError):
        recorder.flush()
    assert len(recorder._readers) == 10 and recorder._clients == {}
    assert any(r.levelno == logging.ERROR and "dropped" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(store_clicks, "write_batch", real)
    assert recorder.flush() == 30  # every click still counted
