"""What PostgreSQL refuses and SQLite takes (a NUL, an id past 32 bits, a string longer than
its column) is a 4xx from the app on both stores, never a 500 or half a change."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, select

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.store.schema import subscribers
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


async def _post_json(web: Web, path: str, body: object) -> httpx.Response:
    headers = {**KEY, "Content-Type": "application/json"}
    return await web.client.post(path, headers=headers, content=json.dumps(body))


# Text no store can hold: a NUL (PostgreSQL refuses it) and a lone surrogate ("\\ud800" in
# JSON: it has no UTF-8 form, and both stores' drivers fail to encode it).
UNSTORABLE = pytest.mark.parametrize("bad", ["\u0000", "\ud800"], ids=["nul", "surrogate"])


@UNSTORABLE
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/alerts", {"article_id": "a0001{bad}"}, "article_id"),
        ("/api/alerts", {"article_id": "a0001", "by": "desk{bad}"}, "by"),
        (f"/api/runs/{2**31 - 1}/approve", {"by": "desk{bad}"}, "by"),
        (f"/api/runs/{2**31 - 1}/reject", {"by": "{bad}"}, "by"),
    ],
)  # fmt: skip
async def test_an_editorial_body_the_store_cannot_hold_is_a_422(
    web: Web, bad: str, path: str, body: dict[str, str], field: str
) -> None:
    r = await _post_json(web, path, {k: v.format(bad=bad) for k, v in body.items()})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.kr", "name": "김\u0000민수"}, "name"),
        ({"email": "a@example.kr", "sections": ["politics", "x\u0000"]}, "sections"),
        ({"email": "a@example.kr", "sections": "x" * 65}, "sections"),
        ({"email": "a@example.kr", "sections": ["a" * 100]}, "sections"),
        ({"email": "a@example.kr", "frequency": "daily\u0000"}, "frequency"),
        ({"email": "a@example.kr", "name": "Kim\ud800"}, "name"),
        ({"email": "a\ud800@example.kr"}, "email"),
        ({"email": "a@example.kr", "sections": ["politics", "x\ud800"]}, "sections"),
        ({"email": "a@example.kr", "nick\ud800": "x"}, "(key)"),
        ({"email": "a@example.kr", "sections": [1]}, "sections"),
        ({"email": "a@example.kr", "sections": [None]}, "sections"),
        ({"email": "a@example.kr", "sections": ["politics", {"a": 1}]}, "sections"),
    ],
)  # fmt: skip
async def test_a_subscriber_the_store_cannot_hold_is_a_422(
    web: Web, body: dict[str, object], field: str
) -> None:
    r = await _post_json(web, "/api/subscribers", body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    with web.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar_one() == 0


async def test_a_csv_import_names_the_rows_the_store_cannot_hold(web: Web) -> None:
    body = (
        "email,name,sections\n"
        "nul@example.kr,김\x00민수,\n"
        f"long@example.kr,,{'x' * 65}\n"
        "ok@example.kr,김민수,politics\n"
    )
    headers = {**KEY, "Content-Type": "text/csv"}
    r = await web.client.post("/api/subscribers", headers=headers, content=body.encode())
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["added"] == 1
    assert [(e["line"], e["field"]) for e in found["errors"]] == [(2, "name"), (3, "sections")]
    with web.engine.connect() as conn:
        emails = conn.execute(select(subscribers.c.email)).scalars().all()
    assert emails == ["ok@example.kr"]


@UNSTORABLE
async def test_a_view_the_store_cannot_hold_is_refused_and_the_buffer_still_flushes(
    web: Web, bad: str
) -> None:
    for body in ({"article_id": f"a0001{bad}", "visitor": "v1"},
                 {"article_id": "a0001", "visitor": f"v{bad}"}):  # fmt: skip
        r = await web.client.post("/api/views", content=json.dumps(body))
        assert r.status_code == 422, r.text
    r = await web.client.post("/api/views", content=json.dumps({"article_id": "a0001",
                                                                "visitor": "v2"}))  # fmt: skip
    assert r.status_code == 204
    assert await web.ctx.flush_views() == 1
    assert web.ctx.recorder.buffered == 0


async def test_a_since_that_overflows_in_utc_is_a_422(web: Web) -> None:
    for since in ("0001-01-01T00:00:00", "9999-12-31T23:59:59-12:00"):
        r = await web.client.get("/api/articles", params={"since": since}, headers=KEY)
        assert r.status_code == 422, (since, r.text)
        assert r.json()["error"]["field"] == "since"
    r = await web.client.get("/api/articles", params={"since": "2026-11-01"}, headers=KEY)
    assert r.status_code == 200


def _multipart(charset: str | None, **fields: str) -> tuple[dict[str, str], bytes]:
    """A multipart form as a hostile client writes it: the fields' bytes as given (ASCII)."""
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             for k, v in fields.items()]  # fmt: skip
    media = "multipart/form-data; boundary=B" + (f"; charset={charset}" if charset else "")
    return {"Content-Type": media}, ("".join(parts) + "--B--\r\n").encode("ascii")


@pytest.mark.parametrize(
    ("charset", "name"),
    # unicode_escape turns the typed "\ud800" into a lone surrogate, utf-7 "+2AA-" too.
    [("unicode_escape", "Kim\\ud800"), ("utf-7", "Kim+2AA-"), ("latin-1", "Kim"),
     ("no-such-codec", "Kim")],
)  # fmt: skip
async def test_a_multipart_form_not_in_utf8_is_a_400(web: Web, charset: str, name: str) -> None:
    headers, body = _multipart(charset, email="kim@example.kr", name=name)
    r = await web.client.post("/subscribe", headers=headers, content=body)
    assert r.status_code == 400, r.text
    with web.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar_one() == 0


async def test_a_multipart_form_in_utf8_is_read(web: Web) -> None:
    for charset in (None, "UTF-8", "utf8"):
        headers, body = _multipart(charset, email="kim@example.kr", name="Kim")
        r = await web.client.post("/subscribe", headers=headers, content=body)
        assert r.status_code == 200, (charset, r.text)
    with web.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar_one() == 1


async def test_a_nul_in_a_click_or_open_link_is_a_forged_link(web: Web) -> None:
    # FastClicks answers /c/ and /o/ before the NUL guard: a forged token, nothing looked up.
    for path in ("/c/a%00b", "/o/a%00b.gif"):
        r = await web.client.get(path)
        assert r.status_code == 404, (path, r.status_code)
