"""Per-reader tracking is opt-in for the site and opt-out for each reader; what it keeps is
shown in "my data" and deleted after click_retention (issue 16)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, insert, select

from publisher.analytics.retention import apply_retention
from publisher.core import tokens
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.store.clickschema import click_counts, reader_clicks
from publisher.store.schema import subscribers
from tests.analytics.clickkit import READERS, ClickWeb, counts, open_clicks
from tests.webkit import web_settings


@pytest_asyncio.fixture
async def pr(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[ClickWeb]:
    s = web_settings(settings, track_per_reader=True)
    async for w in open_clicks(s, engine, clock):
        yield w


def _sid(engine: Engine, email: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(subscribers.c.id).where(subscribers.c.email == email)).scalar_one()
        )


def _recorded(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reader_clicks)).scalar_one())


@pytest.mark.asyncio
async def test_a_reader_sees_their_clicks_and_can_stop_them(pr: ClickWeb) -> None:
    sid = _sid(pr.engine, READERS[0])
    prefs = "/preferences/" + tokens.make(
        pr.settings.secret_key, "preferences", (sid,), now=pr.clock.now()
    )
    links = pr.links[READERS[0]]
    assert all(link.count("/") == 3 for link in links)  # /c/TOKEN/READER
    async with pr.client() as c:
        await c.get(links[0])
        await pr.ctx.flush_views()
        assert _recorded(pr.engine) == 1
        page = await c.get(prefs)
        assert "클릭 기록" in page.text and "90일 보관" in page.text
        export = await c.post(prefs, data={"action": "export"})
        data = json.loads(export.text)
        assert data["click_tracking"] == "on" and len(data["clicks"]) == 1
        assert data["clicks"][0]["url"].startswith("https://news.example.kr/article/")
        off = await c.post(prefs, data={"action": "clicks_off"})
        assert off.status_code == 200 and "클릭 기록 다시 켜기" in off.text
        assert _recorded(pr.engine) == 0  # what was recorded is deleted
        pr.clock.advance(timedelta(hours=1))
        await c.get(links[1])  # a link already mailed still names the reader…
        await pr.ctx.flush_views()
        assert _recorded(pr.engine) == 0  # …but nothing is kept for them any more
        assert counts(pr.engine)[(2, "human", "")] == 1  # the aggregate count still is
        export = json.loads((await c.post(prefs, data={"action": "export"})).text)
        assert export["click_tracking"] == "off" and export["clicks"] == []


@pytest.mark.asyncio
async def test_without_per_reader_tracking_the_page_and_export_say_nothing_of_clicks(
    cw: ClickWeb,
) -> None:
    sid = _sid(cw.engine, READERS[0])
    prefs = "/preferences/" + tokens.make(
        cw.settings.secret_key, "preferences", (sid,), now=cw.clock.now()
    )
    async with cw.client() as c:
        await c.get(cw.links[READERS[0]][0])
        await cw.ctx.flush_views()
        assert "클릭 기록" not in (await c.get(prefs)).text
        assert "clicks" not in json.loads((await c.post(prefs, data={"action": "export"})).text)
    assert _recorded(cw.engine) == 0


def test_retention_deletes_reader_clicks_and_folds_hours(engine: Engine) -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    old = now - timedelta(days=100)
    with engine.begin() as conn:
        sid = int(conn.execute(insert(subscribers).values(
            email="a@example.kr", created_at=old, status="confirmed"
        ).returning(subscribers.c.id)).scalar_one())  # fmt: skip
        conn.execute(insert(reader_clicks), [
            {"subscriber_id": sid, "run_id": 1, "position": 1, "article_id": 1, "at": at}
            for at in (old, now - timedelta(days=1))
        ])  # fmt: skip
        conn.execute(insert(click_counts), [
            {"run_id": 1, "variant": 1, "position": 1, "article_id": 1, "kind": "human",
             "reason": "", "hour": old.replace(hour=h), "count": 2}
            for h in range(3, 9)
        ] + [{"run_id": 1, "variant": 1, "position": 1, "article_id": 1, "kind": "human",
              "reason": "", "hour": now.replace(hour=3), "count": 5}])  # fmt: skip
    summary = apply_retention(engine, now=now, retention=timedelta(days=90))
    assert summary.startswith("1 per-reader clicks deleted, 6 hourly")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reader_clicks)).scalar_one() == 1
        rows = conn.execute(select(click_counts.c.hour, click_counts.c.count)).all()
    assert sorted((h.hour, n) for h, n in rows) == [(0, 12), (3, 5)]
    # A second daily run changes nothing.
    apply_retention(engine, now=now, retention=timedelta(days=90))
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(click_counts.c.count))).scalar_one() == 17


def test_the_daemon_runs_the_retention_job(settings: Settings, engine: Engine) -> None:
    import asyncio

    from publisher.app import App
    from publisher.daemon.jobtable import JobTable
    from tests.digestkit import schedules

    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    app = App(settings=settings, clock=FixedClock(now))
    rt = JobTable(app)
    try:
        assert "clicks" in [j.job_id for j in rt.jobs(schedules())]
        with engine.begin() as conn:
            sid = int(conn.execute(insert(subscribers).values(
                email="b@example.kr", created_at=now, status="confirmed"
            ).returning(subscribers.c.id)).scalar_one())  # fmt: skip
            conn.execute(insert(reader_clicks).values(
                subscriber_id=sid, run_id=1, position=1, article_id=1, at=now - timedelta(days=91)
            ))  # fmt: skip
        asyncio.run(rt.clicks())
        assert _recorded(engine) == 0
    finally:
        rt.http.close()
        app.close()


@pytest.mark.asyncio
async def test_a_scanner_opening_one_readers_links_from_many_addresses_is_a_burst(
    pr: ClickWeb,
) -> None:
    links = pr.links[READERS[1]]
    for n, link in enumerate(links[:4]):  # a cloud scanner: every link from another machine
        async with pr.client(ip=f"20.0.0.{n + 1}") as c:
            await c.get(link)
    await pr.ctx.flush_views()
    assert counts(pr.engine) == {(p, "machine", "burst"): 1 for p in range(1, 5)}
    assert _recorded(pr.engine) == 0  # and nothing kept as the reader's
