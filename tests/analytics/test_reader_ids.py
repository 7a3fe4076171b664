"""A per-reader link counts as its reader's only while that reader holds the id: SQLite gives a
deleted subscriber's id to the next sign-up, and the old reader's links must not record clicks
in the new reader's "my data" (issue 16; the unsubscribe and preferences links refuse the same)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, select

from publisher.analytics.links import reader_value
from publisher.core import tokens
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.store.clickschema import reader_clicks
from publisher.store.schema import subscribers
from tests.analytics.clickkit import READERS, ClickWeb, counts, open_clicks
from tests.digestkit import add_subscriber
from tests.webkit import web_settings


@pytest_asyncio.fixture
async def pr(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[ClickWeb]:
    s = web_settings(settings, track_per_reader=True)
    async for w in open_clicks(s, engine, clock):
        yield w


def _sid(engine: Engine, email: str) -> int:
    with engine.connect() as conn:
        q = select(subscribers.c.id).where(subscribers.c.email == email)
        return int(conn.execute(q).scalar_one())


def _recorded(engine: Engine) -> dict[int, int]:
    rc = reader_clicks.c
    q = select(rc.subscriber_id, func.count()).group_by(rc.subscriber_id)
    with engine.connect() as conn:
        return {int(s): int(n) for s, n in conn.execute(q)}


def _prefs(pr: ClickWeb, sid: int) -> str:
    return "/preferences/" + tokens.make(
        pr.settings.secret_key, "preferences", (sid,), now=pr.clock.now()
    )


async def _delete_my_data(pr: ClickWeb, sid: int) -> None:
    async with pr.client() as c:
        done = await c.post(f"{_prefs(pr, sid)}/delete", data={"confirm": "yes"})
    assert done.status_code == 200


@pytest.mark.asyncio
async def test_an_old_readers_link_is_not_the_new_holder_of_the_id(pr: ClickWeb) -> None:
    old = _sid(pr.engine, READERS[1])  # the newest row: SQLite hands its id out again
    links = pr.links[READERS[1]]
    await _delete_my_data(pr, old)
    pr.clock.advance(timedelta(hours=2))
    new = add_subscriber(pr.engine, "newcomer@example.kr", now=pr.clock.now())
    assert new == old  # the id is the newcomer's now
    async with pr.client() as c:
        assert (await c.get(links[0])).status_code == 302  # the old reader's mailed link
        await pr.ctx.flush_views()
        assert counts(pr.engine) == {(1, "human", ""): 1}  # counted in the totals…
        assert _recorded(pr.engine) == {}  # …never as the newcomer's click
        export = json.loads((await c.post(_prefs(pr, new), data={"action": "export"})).text)
        assert export["click_tracking"] == "on" and export["clicks"] == []
        # The newcomer's own link (made after they signed up) is theirs.
        mine = links[1].rsplit("/", 1)[0] + reader_value(
            pr.settings.secret_key, new, opted_out=False, now=pr.clock.now()
        )
        pr.clock.advance(timedelta(minutes=1))
        assert (await c.get(mine)).status_code == 302
        await pr.ctx.flush_views()
        assert _recorded(pr.engine) == {new: 1}
        export = json.loads((await c.post(_prefs(pr, new), data={"action": "export"})).text)
        assert [x["position"] for x in export["clicks"]] == [2]


@pytest.mark.asyncio
async def test_a_deleted_readers_link_still_counts_and_never_blocks_the_flush(
    pr: ClickWeb,
) -> None:
    gone = _sid(pr.engine, READERS[0])
    await _delete_my_data(pr, gone)
    async with pr.client() as c:
        assert (await c.get(pr.links[READERS[0]][0])).status_code == 302
        await pr.ctx.flush_views()  # no row to hang the click on: the totals only
        assert (await c.get(pr.links[READERS[1]][1])).status_code == 302
    await pr.ctx.flush_views()
    assert counts(pr.engine) == {(1, "human", ""): 1, (2, "human", ""): 1}
    assert _recorded(pr.engine) == {_sid(pr.engine, READERS[1]): 1}


def test_a_merged_readers_link_follows_them_and_a_reused_id_does_not(engine: Engine) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from publisher.store.clicks import ReaderClick, held_clicks
    from publisher.store.schema import subscriber_aliases

    issued = datetime(2026, 11, 1, 9, tzinfo=UTC)
    with engine.begin() as conn:
        kept = int(conn.execute(insert(subscribers).values(
            email="kept@example.kr", created_at=issued - timedelta(days=9), status="confirmed"
        ).returning(subscribers.c.id)).scalar_one())  # fmt: skip
        late = int(conn.execute(insert(subscribers).values(
            email="late@example.kr", created_at=issued + timedelta(seconds=1), status="confirmed"
        ).returning(subscribers.c.id)).scalar_one())  # fmt: skip
        conn.execute(insert(subscriber_aliases).values(old_id=late, subscriber_id=kept))
        conn.execute(insert(subscriber_aliases).values(old_id=9999, subscriber_id=kept))
        clicks = [ReaderClick(sid, 1, 1, 1, issued, issued) for sid in (kept, late, 9999, 777)]
        found = held_clicks(conn, clicks)
    # kept: theirs; late: created after the link, so the alias (a merge) names the holder;
    # 9999: merged away, followed; 777: nobody.
    assert [c.subscriber_id for c in found] == [kept, kept, kept]
