"""The real ASGI app over httpx.ASGITransport: types, validators, 304s, gzip, no traversal."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from publisher.core.config import Settings
from publisher.feeds.build import build_feeds
from publisher.web.app import create_app
from tests.feedsample import T0, load_sample

pytestmark = pytest.mark.asyncio


@pytest.fixture
def client(settings: Settings, engine: Engine) -> httpx.AsyncClient:
    load_sample(engine)
    build_feeds(settings, engine, now=T0)
    (Path(settings.feeds_dir).parent / "secret.txt").write_text("no")
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/feeds/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/feeds/feed.json", "application/feed+json; charset=utf-8"),
        ("/feeds/sections/politics/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/popular/feed.json", "application/feed+json; charset=utf-8"),
        ("/feeds/", "text/html; charset=utf-8"),
    ],
)
async def test_content_types(client: httpx.AsyncClient, path: str, ctype: str) -> None:
    async with client:
        r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == ctype
    assert r.headers["etag"] and r.headers["last-modified"]


async def test_conditional_get(client: httpx.AsyncClient, settings: Settings) -> None:
    async with client:
        first = await client.get("/feeds/atom.xml")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        r = await client.get("/feeds/atom.xml", headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
        r = await client.get("/feeds/atom.xml", headers={"If-Modified-Since": modified})
        assert r.status_code == 304
        r = await client.get("/feeds/atom.xml", headers={"If-None-Match": '"other"'})
        assert r.status_code == 200 and r.content == first.content
        old = "Mon, 01 Jan 2001 00:00:00 GMT"
        r = await client.get("/feeds/atom.xml", headers={"If-Modified-Since": old})
        assert r.status_code == 200
        # A changed file gets a new ETag.
        path = Path(settings.feeds_dir) / "atom.xml"
        path.write_bytes(first.content.replace(b"</feed>", b"<!-- x --></feed>"))
        r = await client.get("/feeds/atom.xml", headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag


async def test_gzip_when_asked(client: httpx.AsyncClient) -> None:
    async with client:
        plain = await client.get("/feeds/rss.xml", headers={"Accept-Encoding": "identity"})
        zipped = await client.get("/feeds/rss.xml", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes transparently
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert gzip.compress(plain.content)  # sanity: the payload is compressible text


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/../secret.txt",
        "/feeds/%2e%2e/secret.txt",
        "/feeds/sections/..%2f..%2fsecret.txt",
        "/feeds/.feedstate.json",
        "/feeds/missing/rss.xml",
        "/feeds/rss.xml.bak",
    ],
)
async def test_no_traversal_or_hidden_files(client: httpx.AsyncClient, path: str) -> None:
    async with client:
        r = await client.get(path)
    assert r.status_code == 404
    assert r.content != b"no"
