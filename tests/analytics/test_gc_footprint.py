"""Clicks leave nothing for the garbage collector to walk.

A full collection pass stops the web process for as long as it takes to walk every tracked
container; if the click counters held one object per click, a digest's burst of clicks would
lengthen every pass (README "Click analytics → Speed"). These tests count what stays tracked,
never time.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.analytics.counting import Click, ClickRecorder
from publisher.analytics.scanners import Scanners
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.store.db import make_engine
from publisher.web.clicks import ClickState
from tests.analytics.clickkit import READERS, ClickWeb, open_clicks
from tests.digestkit import NOW
from tests.webkit import web_settings


def _tracked(tables: dict[str, Any]) -> list[str]:
    """The tables holding an object the collector tracks, once it has looked at them
    (CPython untracks a tuple of plain values when a pass finds its items untracked; a
    tuple of such tuples may need a second pass)."""
    gc.collect()
    gc.collect()
    found = []
    for name, table in tables.items():
        items: Iterable[Any] = table.items() if isinstance(table, dict) else table
        for item in items:
            if any(gc.is_tracked(part) for part in (item if isinstance(item, tuple) else [item])):
                found.append(name)
                break
    return found


def _tables(recorder: ClickRecorder) -> dict[str, Any]:
    r = recorder
    inner = [who for seen in r._clients.values() for who in seen.items()]
    return {
        "seen": r._seen, "seen_before": r._seen_before, "caps": r._caps,
        "caps_before": r._caps_before, "recent": r._recent, "clients": inner,
        "readers": r._readers, "buffer": r._buffer.counts,
    }  # fmt: skip


def _workload(recorder: ClickRecorder, start: int, n: int) -> None:
    """People from new addresses, scanners opening a reader's links from many addresses (a
    burst), and one address over the cap."""
    for i in range(start, start + n):
        at = NOW + timedelta(milliseconds=i)
        ip = f"10.{i // 62500 % 250}.{i // 250 % 250}.{i % 250}"
        recorder.record(Click((1, 1, i % 20 + 1, i % 20 + 1), ip, f"Mozilla/5.0 ({i % 50})", at=at))
        if i % 10 == 0:  # one reader's four links from four scanner addresses at once
            for p in range(1, 5):
                recorder.record(
                    Click((1, 2, p, p), f"172.16.{i % 250}.{p}", "Mozilla/5.0", reader=i,
                          reader_issued=NOW, at=at)
                )  # fmt: skip
        recorder.record(Click((1, 1, 3, 3), "192.0.2.9", f"Mozilla/5.0 ({i})", at=at))


def _recorder() -> ClickRecorder:
    return ClickRecorder(
        make_engine("sqlite://"), Scanners.load(), auto_flush=False, per_reader=True,
        per_ip_hour=5,
    )  # fmt: skip


def test_the_counting_tables_hold_nothing_the_collector_walks() -> None:
    recorder = _recorder()
    _workload(recorder, 0, 2000)
    stats = recorder.stats
    assert stats.moved_to_machine > 0 and stats.machine > stats.moved_to_machine
    assert recorder._readers, "the people's own clicks are kept for the flush"
    assert _tracked(_tables(recorder)) == []


def test_more_clicks_leave_no_more_tracked_objects() -> None:
    recorder = _recorder()
    _workload(recorder, 0, 500)
    gc.collect()
    gc.collect()
    before = len(gc.get_objects())
    _workload(recorder, 500, 5000)  # 5,000 people, 2,000 scanner clicks, 5,000 capped
    gc.collect()
    gc.collect()
    assert recorder.stats.human > 5000
    assert len(gc.get_objects()) - before < 100


@pytest_asyncio.fixture
async def pr(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[ClickWeb]:
    s = web_settings(settings, track_per_reader=True)
    async for w in open_clicks(s, engine, clock):
        yield w


@pytest.mark.asyncio
async def test_a_digests_clicks_over_http_leave_nothing_tracked(pr: ClickWeb) -> None:
    for n in range(30):  # readers' clicks a few seconds apart, and a scanner's burst
        async with pr.client(ip=f"198.51.100.{n + 1}") as c:
            for path in pr.links[READERS[0]] + pr.links[READERS[1]]:
                assert (await c.get(path)).status_code == 302
                pr.clock.advance(timedelta(seconds=5))
    async with pr.client(ip="203.0.113.7") as c:
        for path in pr.links[READERS[0]]:
            assert (await c.get(path)).status_code == 302
    state = pr.ctx.state["clicks"]
    assert isinstance(state, ClickState)
    stats = state.recorder.stats
    assert stats.human > 0 and stats.moved_to_machine > 0 and state.recorder._readers
    tables = {**_tables(state.recorder), "articles": state.targets._cache}
    assert _tracked(tables) == []
