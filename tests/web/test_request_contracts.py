"""What the README promises about paths, content types and refused bodies, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from publisher.store.schema import subscribers
from tests.webkit import API_KEY, Web

pytestmark = pytest.mark.asyncio
KEY = {"X-API-Key": API_KEY}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def subscriber_count(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(subscribers)).scalar_one())


# -- trailing slashes: no redirect that would lose a proxy's prefix and scheme ---------------


@pytest.mark.parametrize("path", ["/subscribe/", "/api/most-viewed/", "/healthz/"])
async def test_a_trailing_slash_is_not_found_not_redirected(web: Web, path: str) -> None:
    r = await web.client.get(path, headers=BROWSER)
    assert r.status_code == 404
    assert "location" not in r.headers


async def test_a_trailing_slash_on_the_api_is_a_json_404(web: Web) -> None:
    r = await web.client.get("/api/articles/", headers=KEY)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# -- POST /api/subscribers: JSON or CSV, said so by the Content-Type -------------------------


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "multipart/form-data; boundary=x", "application/xml"]
)
async def test_subscribers_refuse_other_content_types_with_415(
    web: Web, content_type: str | None
) -> None:
    headers = dict(KEY) | ({"Content-Type": content_type} if content_type else {})
    before = subscriber_count(web)
    r = await web.client.post(
        "/api/subscribers", content=b'{"email": "a@example.kr"}', headers=headers
    )
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"
    assert subscriber_count(web) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json",
                                          "Application/JSON; charset=utf-8"])  # fmt: skip
async def test_subscribers_take_json_types(web: Web, content_type: str) -> None:
    r = await web.client.post("/api/subscribers", content=b'{"email": "a@example.kr"}',
                              headers={**KEY, "Content-Type": content_type})  # fmt: skip
    assert r.status_code == 200 and r.json() == {"outcome": "added"}


@pytest.mark.parametrize("content_type", ["Text/CSV", "TEXT/csv; charset=UTF-8"])
async def test_csv_content_type_is_case_insensitive(web: Web, content_type: str) -> None:
    r = await web.client.post("/api/subscribers", content=b"email,name\nb@example.kr,B\n",
                              headers={**KEY, "Content-Type": content_type})  # fmt: skip
    assert r.status_code == 200 and r.json()["added"] == 1


async def test_an_unterminated_quote_refuses_the_whole_csv(web: Web) -> None:
    before = subscriber_count(web)
    body = b'email,name\nok@example.kr,Ok\n"a@example.com,unterminated\n'
    r = await web.client.post("/api/subscribers", content=body,
                              headers={**KEY, "Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"
    assert "nothing was imported" in r.json()["error"]["message"]
    assert subscriber_count(web) == before


# -- bodies over a form's cap: 413, a page for browsers, JSON for the API --------------------


async def chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size


@pytest.mark.parametrize("content_type", ["application/json", "text/plain",
                                          "application/x-www-form-urlencoded"])  # fmt: skip
async def test_a_chunked_form_body_over_the_cap_is_413_whatever_its_type(
    web: Web, content_type: str
) -> None:
    r = await web.client.post("/subscribe", content=chunks(200 * 1024),
                              headers={"Content-Type": content_type})  # fmt: skip
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_browser_gets_a_page_for_a_413_on_a_form(web: Web, chunked: bool) -> None:
    body = chunks(200 * 1024) if chunked else b"a" * (200 * 1024)
    headers = {**BROWSER, "Content-Type": "application/x-www-form-urlencoded"}
    r = await web.client.post("/subscribe", content=body, headers=headers)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text


async def test_the_api_answers_json_for_a_413_even_to_a_browser(web: Web) -> None:
    r = await web.client.post("/api/views", content=b"a" * (64 * 1024),
                              headers={**BROWSER, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
