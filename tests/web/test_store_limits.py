"""What PostgreSQL refuses and SQLite takes (a NUL, an id past 32 bits, a string longer than
its column) is a 4xx from the app on both stores, never a 500 or half a change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.webkit import API_KEY, Web, open_web, web_settings

pytestmark = pytest.mark.asyncio
KEY = {"X-API-Key": API_KEY}
PAST_INT4 = str(2**31)
HUGE = "99999999999"


@pytest_asyncio.fixture
async def web(settings: Settings, any_engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    async for w in open_web(web_settings(settings), any_engine, clock):
        yield w


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/articles?section=a%00b"), ("GET", "/api/most-viewed?section=a%00b"),
        ("DELETE", "/api/articles/a%00b"), ("GET", "/api/ninjs/a%00b"),
        ("PUT", "/api/articles/a%00b"), ("GET", "/archive/mo%00rning/1"),
        ("GET", "/articles/a%00b/share"), ("GET", "/v/a%00b.gif"),
        ("GET", "/api/runs/1/preview?variant=%00"),
    ],
)  # fmt: skip
async def test_a_nul_in_the_url_is_a_400(web: Web, method: str, path: str) -> None:
    r = await web.client.request(method, path, headers=KEY)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"


async def test_a_nul_in_the_url_is_a_page_for_a_browser(web: Web) -> None:
    r = await web.client.get("/articles/a%00b/share", headers={"Accept": "text/html"})
    assert r.status_code == 400 and "<html" in r.text
    assert "Cache-Control" in r.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/runs/{HUGE}"), ("GET", f"/api/runs/{PAST_INT4}/preview"),
        ("POST", f"/api/runs/{PAST_INT4}/approve"), ("POST", f"/api/runs/{HUGE}/reject"),
        ("GET", f"/api/runs/{PAST_INT4}/report"),
    ],
)  # fmt: skip
async def test_a_run_id_past_32_bits_is_a_422(web: Web, method: str, path: str) -> None:
    r = await web.client.request(method, path, headers=KEY)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "run_id"


async def test_an_archive_id_past_32_bits_is_not_found(web: Web) -> None:
    for run in (HUGE, PAST_INT4, "0", "-1"):
        r = await web.client.get(f"/archive/morning/{run}")
        assert r.status_code == 404, (run, r.text)
