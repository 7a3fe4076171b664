"""ninjs over HTTP (the real ASGI app): every document validates against IPTC's own schemas
(3.1 and 2.2, JSON Schema 2020-12, copied into tests/syndication/schemas/)."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from jsonschema import Draft202012Validator
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.intake.articles import set_status, write_articles
from publisher.web.app import create_app
from tests.feedsample import T0, article, sample_articles

pytestmark = pytest.mark.asyncio
SCHEMAS = Path(__file__).resolve().parent / "schemas"


@functools.cache
def validator(version: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"ninjs-schema_{version}.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check(doc: dict[str, Any], version: str) -> dict[str, Any]:
    errors = sorted(validator(version).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    created = doc["versionCreated" if version == "3.1" else "versioncreated"]
    datetime.fromisoformat(created.replace("Z", "+00:00"))  # the format checker may skip it
    return doc


def pictured(n: int = 2, **kw: Any) -> Any:
    return article(
        n, image_width=1200, image_height=800, image_credit="한빛일보 사진부 김사진", **kw
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture
async def client(settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(settings):
        yield c


async def test_article_as_ninjs_31(client: httpx.AsyncClient, engine: Engine) -> None:
    write_articles(engine, [*sample_articles()[:1], pictured()], now=T0)
    resp = await client.get("/api/ninjs/20261123-0002")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    doc = check(resp.json(), "3.1")
    a = pictured()
    assert doc["uri"] == "tag:news.example.kr,2026:article/20261123-0002"
    assert doc["headlines"] == [{"role": "main", "contentType": "text/plain", "value": a.title}]
    assert doc["bodies"][0]["contentType"] == "text/html"
    assert doc["bodies"][0]["value"].startswith("<p>본문 2 첫 문단.</p>")
    assert doc["by"] == a.author and doc["people"] == [{"name": a.author, "rel": "author"}]
    assert doc["subjects"] == [{"name": "환경", "rel": "section", "literal": "environment"}]
    assert (doc["version"], doc["pubStatus"], doc["language"]) == ("1", "usable", "ko")
    assert doc["versionCreated"] == "2026-11-23T00:00:00Z"
    picture = doc["associations"][0]
    assert picture["type"] == "picture" and picture["by"] == "한빛일보 사진부 김사진"
    assert picture["descriptions"] == [{"role": "caption", "value": "사진 2 설명"}]
    assert picture["renditions"] == [{
        "name": "original", "href": "https://img.example.kr/2.jpg", "contentType": "image/jpeg",
        "width": 1200, "height": 800,
    }]  # fmt: skip


async def test_corrections_raise_the_version_and_a_retraction_cancels(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    write_articles(engine, [pictured()], now=T0)
    for n, title in enumerate(("정정 1", "정정 2"), 1):
        write_articles(engine, [pictured(title=title)], now=T0 + timedelta(minutes=n))
    doc = check((await client.get("/api/ninjs/20261123-0002")).json(), "3.1")
    assert (doc["version"], doc["headlines"][0]["value"]) == ("3", "정정 2")
    assert doc["versionCreated"] == "2026-11-23T01:02:00Z"
    set_status(engine, "20261123-0002", "retracted", now=T0 + timedelta(minutes=5))
    gone = check((await client.get("/api/ninjs/20261123-0002")).json(), "3.1")
    assert gone["pubStatus"] == "canceled" and "bodies" not in gone
    assert "associations" not in gone and gone["versionCreated"] == "2026-11-23T01:05:00Z"


async def test_feed_of_recent_items(client: httpx.AsyncClient, engine: Engine) -> None:
    write_articles(engine, [*sample_articles(), pictured(9)], now=T0)
    set_status(engine, "20261123-0001", "retracted", now=T0)
    resp = await client.get("/api/ninjs", params={"limit": 3})
    docs = resp.json()
    assert resp.status_code == 200 and len(docs) == 3
    for doc in docs:
        check(doc, "3.1")
    assert docs[0]["altIds"] == [{"role": "cms", "value": "20261123-0001"}]  # newest first
    assert docs[0]["pubStatus"] == "canceled"
    assert (await client.get("/api/ninjs", params={"limit": 0})).status_code == 422
    assert (await client.get("/api/ninjs", params={"limit": "x"})).status_code == 422


async def test_unknown_id_is_a_json_404(client: httpx.AsyncClient, engine: Engine) -> None:
    resp = await client.get("/api/ninjs/nope")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


async def test_ninjs_22_by_setting(settings: Settings, engine: Engine) -> None:
    write_articles(engine, [*sample_articles(), pictured(10)], now=T0)
    set_status(engine, "20261123-0003", "retracted", now=T0)
    async for client in _client(settings.model_copy(update={"ninjs_version": "2.2"})):
        one = check((await client.get("/api/ninjs/20261123-0010")).json(), "2.2")
        assert one["pubstatus"] == "usable" and one["versioncreated"] == "2026-11-22T20:00:00Z"
        assert one["associations"][0]["renditions"][0]["contenttype"] == "image/jpeg"
        for doc in (await client.get("/api/ninjs", params={"limit": 10})).json():
            check(doc, "2.2")
        gone = check((await client.get("/api/ninjs/20261123-0003")).json(), "2.2")
        assert gone["pubstatus"] == "canceled"
