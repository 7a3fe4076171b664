"""`POST /api/subscribers` with a CSV body, twice: the consent log records the import once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, select

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.store.consentschema import consent_log
from tests.webkit import API_KEY, Web, open_web, web_settings

pytestmark = pytest.mark.asyncio
HEADERS = {"X-API-Key": API_KEY, "Content-Type": "text/csv"}
BODY = "email,name,sections,frequency,status\nb@example.kr,B,economy,weekly,confirmed\n"


@pytest_asyncio.fixture
async def web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    async for w in open_web(web_settings(settings), engine, clock):
        yield w


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(consent_log)).scalar_one())


async def test_the_same_csv_posted_twice_is_logged_once(web: Web) -> None:
    r = await web.client.post("/api/subscribers", content=BODY.encode(), headers=HEADERS)
    assert r.json()["added"] == 1
    before = _rows(web.engine)
    renamed = BODY.replace(",B,", ",B. Park,")
    for body in (BODY, renamed):
        r = await web.client.post("/api/subscribers", content=body.encode(), headers=HEADERS)
        assert r.status_code == 200 and not r.json()["errors"]
    assert _rows(web.engine) == before
    changed = BODY.replace(",economy,", ",economy;politics,")
    r = await web.client.post("/api/subscribers", content=changed.encode(), headers=HEADERS)
    assert r.json()["updated"] == 1 and _rows(web.engine) == before + 1
