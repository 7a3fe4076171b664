"""The /api surface: keys, articles, views, most viewed, operators, and the error shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.digestkit import add_subscriber
from tests.webkit import API_KEY, Web, open_web, outbox_rows, web_settings

pytestmark = pytest.mark.asyncio
KEY = {"X-API-Key": API_KEY}
NEW = {
    "url": "https://news.example.kr/article/900", "title": "새 기사",
    "published_at": "2026-11-23T21:50:00Z", "section": "politics", "summary": "요약",
}  # fmt: skip


def assert_error(body: dict[str, Any], code: str, field: str | None = None) -> None:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field
    assert "Traceback" not in str(body) and 'File "' not in str(body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/articles/x1"), ("POST", "/api/articles:batch"),
        ("DELETE", "/api/articles/a0001"), ("GET", "/api/articles"),
        ("GET", "/api/subscribers"), ("POST", "/api/subscribers"),
        ("GET", "/api/outbox/stats"), ("GET", "/api/digests/morning/runs"),
        ("POST", "/api/digests/morning/run"),
    ],
)  # fmt: skip
async def test_missing_or_wrong_key_is_401(web: Web, method: str, path: str) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}):
        r = await web.client.request(method, path, headers=headers, json={})
        assert r.status_code == 401, (method, path, headers)
        assert_error(r.json(), "unauthorized")


async def test_both_configured_keys_work(web: Web) -> None:
    for key in web.settings.api_keys:
        r = await web.client.get("/api/outbox/stats", headers={"X-API-Key": key})
        assert r.status_code == 200


async def test_put_list_and_retract_an_article(web: Web) -> None:
    r = await web.client.put("/api/articles/x900", json=NEW, headers=KEY)
    assert r.status_code == 200 and r.json() == {"id": "x900", "outcome": "added"}
    r = await web.client.put("/api/articles/x900", json=NEW, headers=KEY)
    assert r.json()["outcome"] == "unchanged"
    listed = await web.client.get("/api/articles?section=politics", headers=KEY)
    assert "x900" in [a["id"] for a in listed.json()["articles"]]
    since = await web.client.get("/api/articles?since=2026-11-23T21:45:00Z", headers=KEY)
    assert [a["id"] for a in since.json()["articles"]] == ["x900"]
    gone = await web.client.delete("/api/articles/x900", headers=KEY)
    assert gone.status_code == 200
    listed = await web.client.get("/api/articles?section=politics", headers=KEY)
    assert "x900" not in [a["id"] for a in listed.json()["articles"]]
    assert (await web.client.get("/articles/x900/share")).status_code == 404
    missing = await web.client.delete("/api/articles/nope", headers=KEY)
    assert missing.status_code == 404
    assert_error(missing.json(), "not_found", "id")


async def test_invalid_article_names_the_field(web: Web) -> None:
    r = await web.client.put("/api/articles/x1", json={**NEW, "url": "javascript:x"}, headers=KEY)
    assert r.status_code == 422
    assert_error(r.json(), "invalid", "url")
    r = await web.client.put("/api/articles/x1", json={**NEW, "id": "x2"}, headers=KEY)
    assert_error(r.json(), "invalid", "id")
    r = await web.client.put("/api/articles/x1", content=b"{nope", headers=KEY)
    assert r.status_code == 400  # not JSON at all: the README's bad_request
    assert_error(r.json(), "bad_request")


async def test_batch_reports_each_item(web: Web) -> None:
    good = {**NEW, "id": "b1"}
    bad = {**NEW, "id": "b2", "title": ""}
    r = await web.client.post("/api/articles:batch", json=[good, bad], headers=KEY)
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert first == {"index": 0, "id": "b1", "outcome": "added"}
    assert second["index"] == 1 and second["errors"][0]["field"] == "title"


async def test_views_counted_bots_ignored_repeats_collapsed(web: Web) -> None:
    hit = {"article_id": "a0002", "visitor": "v1"}
    assert (await web.client.post("/api/views", json=hit)).status_code == 204
    assert (await web.client.post("/api/views", json=hit)).status_code == 204
    bot = {"User-Agent": "Googlebot/2.1"}
    assert (
        await web.client.post("/api/views", json=hit | {"visitor": "v2"}, headers=bot)
    ).status_code == 204
    # sendBeacon posts text/plain: still read as JSON
    beacon = await web.client.post("/api/views", content=b'{"article_id":"a0002","visitor":"v3"}',
                                   headers={"Content-Type": "text/plain"})  # fmt: skip
    assert beacon.status_code == 204
    gif = await web.client.get("/v/a0002.gif")
    assert gif.status_code == 200 and gif.headers["content-type"] == "image/gif"
    assert gif.content.startswith(b"GIF89a")
    stats = web.ctx.recorder.stats
    assert (stats.counted, stats.collapsed, stats.bots) == (3, 1, 1)
    assert web.ctx.recorder.buffered == 3  # nothing written on the request path
    await web.ctx.close()  # what shutdown does: the buffer is written
    assert web.ctx.recorder.buffered == 0 and web.ctx.recorder.stats.stored == 3
    bad = await web.client.post("/api/views", json={"article_id": "", "visitor": "v"})
    assert bad.status_code == 422
    assert_error(bad.json(), "invalid", "article_id")
    assert (await web.client.post("/api/views", content=b"[")).status_code == 400


async def test_views_rate_limited_per_ip(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    async for web in open_web(web_settings(settings, views_per_ip_minute=3), engine, clock):
        codes = []
        for i in range(4):
            hit = {"article_id": "a0001", "visitor": f"v{i}"}
            codes.append((await web.client.post("/api/views", json=hit)).status_code)
        assert codes == [204, 204, 204, 429]


async def test_most_viewed_is_public_cached_and_cors(web: Web) -> None:
    origin = {"Origin": "https://news.example.kr"}
    r = await web.client.get("/api/most-viewed?window=24h&limit=3", headers=origin)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["rank"] for i in items] == [1, 2, 3] and items[0]["id"] == "a0001"
    assert r.headers["access-control-allow-origin"] == "https://news.example.kr"
    assert "max-age=30" in r.headers["cache-control"]
    politics = await web.client.get("/api/most-viewed?section=economy&limit=2")
    assert {i["section"] for i in politics.json()["items"]} == {"economy"}
    other = await web.client.get("/api/most-viewed", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    assert (await web.client.get("/api/most-viewed?window=forever")).status_code == 422


async def test_subscribers_json_csv_import_export(web: Web) -> None:
    r = await web.client.post(
        "/api/subscribers", json={"email": "a@example.kr", "sections": "politics"}, headers=KEY
    )
    assert r.status_code == 200 and r.json() == {"outcome": "added"}
    csv_body = (
        "email,name,sections,frequency,status\nb@example.kr,B,economy,weekly,confirmed\nnope,,,,\n"
    )
    r = await web.client.post("/api/subscribers", content=csv_body.encode(),
                              headers={**KEY, "Content-Type": "text/csv"})  # fmt: skip
    body = r.json()
    assert body["added"] == 1 and body["errors"][0]["field"] == "email"
    listed = await web.client.get("/api/subscribers", headers=KEY)
    assert [s["email"] for s in listed.json()["subscribers"]] == ["a@example.kr", "b@example.kr"]
    csv_out = await web.client.get("/api/subscribers?format=csv", headers=KEY)
    assert csv_out.text.splitlines()[0] == "email,name,sections,frequency,status"
    assert "b@example.kr,B,economy,weekly,confirmed" in csv_out.text
    bad = await web.client.post("/api/subscribers", json={"email": "x@y"}, headers=KEY)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "email"


async def test_digest_run_and_runs_and_outbox_stats(web: Web) -> None:
    add_subscriber(web.engine, "minsu@example.kr")
    r = await web.client.post("/api/digests/morning/run", headers=KEY)
    assert r.status_code == 200 and r.json()["status"] == "enqueued"
    again = await web.client.post("/api/digests/morning/run", headers=KEY)
    assert again.json()["status"] == "already"
    runs = await web.client.get("/api/digests/morning/runs", headers=KEY)
    assert runs.json()["runs"][0]["status"] == "enqueued"
    stats = await web.client.get("/api/outbox/stats", headers=KEY)
    assert stats.json() == {"counts": {"queued": len(outbox_rows(web.engine))}, "total": 1}
    missing = await web.client.get("/api/digests/nope/runs", headers=KEY)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "digest_id"


async def test_openapi_and_docs(web: Web) -> None:
    spec = (await web.client.get("/openapi.json")).json()
    assert "/api/views" in spec["paths"] and "/api/articles/{article_id}" in spec["paths"]
    assert "/subscribe" not in spec["paths"]  # pages are not API
    assert (await web.client.get("/docs")).status_code == 200
    unknown = await web.client.get("/api/nothing-here")
    assert unknown.status_code == 404
    assert_error(unknown.json(), "not_found")


async def test_time_passes_most_viewed_cache(web: Web) -> None:
    first = await web.client.get("/api/most-viewed?limit=1")
    web.clock.advance(timedelta(days=3))  # the store's answer would be empty now
    cached = await web.client.get("/api/most-viewed?limit=1")
    assert cached.json() == first.json()


async def test_a_crash_is_a_500_without_internals(settings: Settings, engine: Engine) -> None:
    from fastapi import APIRouter

    from publisher.web.app import ROUTERS, create_app

    def boom(_s: Settings) -> APIRouter:
        r = APIRouter()

        @r.get("/api/boom")
        def fail() -> None:
            raise RuntimeError("secret internals: /etc/passwd at line 42")

        return r

    app = create_app(web_settings(settings), routers=(*ROUTERS, boom))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/api/boom")
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal", "message": "internal error", "field": None}}
