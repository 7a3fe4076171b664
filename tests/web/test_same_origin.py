"""Form POSTs from another site are refused (403) before they do anything.

Our pages are at https://news.example.kr/newsletter (public_base_url) and the news site is
https://news.example.kr (site_url): both share the origin here, so the tests that need two
origins set public_base_url elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core import tokens
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.digestkit import add_subscriber
from tests.webkit import Web, open_web, outbox_rows, subscriber_status, web_settings

pytestmark = pytest.mark.asyncio
FORM = {"email": "reader@example.kr", "frequency": "daily"}
FOREIGN = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},  # a sandboxed frame or a no-referrer page
    {"Origin": "http://news.example.kr"},  # same host, other scheme: another origin
    {"Referer": "https://evil.example/page.html"},  # an old browser: Referer, no Origin
    {"Origin": "https://news.example.kr.evil.example"},
]


@pytest_asyncio.fixture
async def two_origins(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    s = web_settings(settings, public_base_url="https://newsletter.example.kr/")
    async for w in open_web(s, engine, clock):
        yield w


@pytest.mark.parametrize("headers", FOREIGN)
async def test_subscribe_from_another_site_is_403_and_changes_nothing(
    web: Web, headers: dict[str, str]
) -> None:
    r = await web.client.post("/subscribe", data=FORM, headers=headers)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "다른 사이트에서 보낸 요청입니다" in r.text
    assert subscriber_status(web.engine, "reader@example.kr") is None
    assert outbox_rows(web.engine) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://news.example.kr"},
        {"Referer": "https://news.example.kr/newsletter/subscribe"},
        {},  # not a browser on another site (a browser sends Origin or Referer cross-site)
    ],
)
async def test_subscribe_from_our_pages_works(web: Web, headers: dict[str, str]) -> None:
    r = await web.client.post("/subscribe", data=FORM, headers=headers)
    assert r.status_code == 200
    assert subscriber_status(web.engine, "reader@example.kr") == "pending"


async def test_our_pages_and_the_news_site_may_post(two_origins: Web) -> None:
    for i, origin in enumerate(["https://newsletter.example.kr", "https://news.example.kr"]):
        r = await two_origins.client.post(
            "/subscribe", data={**FORM, "email": f"r{i}@example.kr"}, headers={"Origin": origin}
        )
        assert r.status_code == 200, origin
    r = await two_origins.client.post("/subscribe", data=FORM,
                                      headers={"Origin": "https://evil.example"})  # fmt: skip
    assert r.status_code == 403


async def test_every_token_form_is_checked(web: Web) -> None:
    who = add_subscriber(web.engine, "kim@example.kr")
    now = web.clock.now()
    prefs = tokens.make(web.ctx.identity.secret, "preferences", (who,), now=now)
    evil = {"Origin": "https://evil.example"}
    r = await web.client.post(f"/preferences/{prefs}", data={"action": "delete"}, headers=evil)
    assert r.status_code == 403
    assert subscriber_status(web.engine, "kim@example.kr") == "confirmed"
    confirm = tokens.make(web.ctx.identity.secret, "confirm", (who,), now=now)
    assert (await web.client.post(f"/confirm/{confirm}", headers=evil)).status_code == 403


async def test_one_click_unsubscribe_works_from_anywhere(web: Web) -> None:
    """RFC 8058: the mail provider POSTs from its own servers; the token is the proof."""
    who = add_subscriber(web.engine, "kim@example.kr")
    token = tokens.make(web.ctx.identity.secret, "unsubscribe", (who,), now=web.clock.now())
    r = await web.client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"},
                              headers={"Origin": "https://mail.example.com"})  # fmt: skip
    assert r.status_code == 200
    assert subscriber_status(web.engine, "kim@example.kr") == "unsubscribed"


async def test_the_api_is_not_origin_checked(web: Web) -> None:
    """The site's own script posts view beacons cross-origin; CORS and keys govern /api."""
    r = await web.client.post("/api/views", json={"article_id": "a0001", "visitor": "v"},
                              headers={"Origin": "https://elsewhere.example"})  # fmt: skip
    assert r.status_code == 204


async def test_pages_let_the_browser_send_our_origin(web: Web) -> None:
    """ "no-referrer" would make a browser send "Origin: null" from our own forms."""
    for path in ("/subscribe", "/articles/a0001/share"):
        r = await web.client.get(path)
        assert r.headers["referrer-policy"] == "same-origin", path


async def test_a_local_install_accepts_its_other_loopback_names(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    """The demo runs on http://127.0.0.1:8080; a reader who opens localhost:8080 may subscribe."""
    s = web_settings(settings, public_base_url="http://127.0.0.1:8080")
    async for w in open_web(s, engine, clock):
        for i, origin in enumerate(["http://localhost:8080", "http://[::1]:8080"]):
            r = await w.client.post("/subscribe", data={**FORM, "email": f"r{i}@example.kr"},
                                    headers={"Origin": origin})  # fmt: skip
            assert r.status_code == 200, origin
        other_port = {"Origin": "http://localhost:9999"}
        assert (await w.client.post("/subscribe", data=FORM, headers=other_port)).status_code == 403
