"""GET /c/TOKEN: a 302 to the article as stored; retracted → the site; forged → a page, 404."""

from __future__ import annotations

import pytest

from publisher.analytics.links import read_target
from publisher.core.tokens import make
from publisher.intake.articles import set_status
from publisher.store import clicks as store_clicks
from tests.analytics.clickkit import READERS, ClickWeb
from tests.digestkit import NOW

pytestmark = pytest.mark.asyncio


def _url_of(cw: ClickWeb, path: str) -> str:
    token = path.split("/")[2]
    article = read_target(cw.settings.secret_key, token, now=NOW)[3]
    with cw.engine.connect() as conn:
        info = store_clicks.article_info(conn, article)
    assert info is not None
    return info.url


async def test_a_click_redirects_to_the_article_as_stored(cw: ClickWeb) -> None:
    path = cw.links[READERS[0]][0]
    async with cw.client() as c:
        r = await c.get(path + "?url=https://evil.example/&next=https://evil.example/")
    assert r.status_code == 302
    assert r.headers["location"] == _url_of(cw, path)
    assert "no-store" in r.headers["cache-control"]


async def test_forged_and_unknown_tokens_get_a_small_page_linking_to_the_site(
    cw: ClickWeb,
) -> None:
    path = cw.links[READERS[0]][0]
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    other_key = "/c/" + make("another-secret-key-xxxxxxxx", "click", (1, 1, 1, 1), now=NOW)
    wrong_purpose = "/c/" + make(cw.settings.secret_key, "unsubscribe", (1,), now=NOW)
    hostile = ["/c/https:%2F%2Fevil.example%2F", "/c/" + "A" * 5000, "/c/%00%ff", "/c/x.y.z"]
    async with cw.client() as c:
        for bad in [forged, other_key, wrong_purpose, *hostile]:
            r = await c.get(bad)
            assert r.status_code == 404, bad
            assert "location" not in r.headers
            assert r.text.index("링크를 열 수 없습니다") < r.text.index("This link is broken")
            assert 'href="https://news.example.kr/"' in r.text
        head = await c.head(forged)
    assert head.status_code == 404 and head.content == b""


async def test_a_retracted_article_goes_to_the_site_or_the_notice_page(cw: ClickWeb) -> None:
    path = cw.links[READERS[0]][0]
    url = _url_of(cw, path)
    with cw.engine.connect() as conn:
        from sqlalchemy import select

        from publisher.store.schema import articles

        external = conn.execute(
            select(articles.c.external_id).where(articles.c.url == url)
        ).scalar_one()
    set_status(cw.engine, external, "retracted", now=NOW)
    async with cw.client() as c:
        r = await c.get(path)
    assert r.status_code == 302 and r.headers["location"] == "https://news.example.kr/"
    # a fresh app (the article cache is per process and a minute long) with a notice page
    from publisher.web.app import create_app
    from publisher.web.context import WebContext

    s = cw.settings.model_copy(update={"retracted_notice_url": "https://news.example.kr/notice"})
    cw.app = create_app(s, context=WebContext(s, clock=cw.clock, engine_=cw.engine))
    async with cw.client() as c:
        r = await c.get(path)
    assert r.headers["location"] == "https://news.example.kr/notice"


async def test_the_route_is_documented_and_served_without_the_fast_path(cw: ClickWeb) -> None:
    from publisher.web import clicks
    from publisher.web.app import create_app
    from publisher.web.context import WebContext

    ctx = WebContext(cw.settings, clock=cw.clock, engine_=cw.engine)
    # A factory that is not clicks.router itself: the app installs no fast path.
    cw.app = create_app(cw.settings, context=ctx, routers=[lambda s: clicks.router(s)])
    path = cw.links[READERS[1]][1]
    async with cw.client() as c:
        r = await c.get(path)
        assert r.status_code == 302 and r.headers["location"] == _url_of(cw, path)
        assert (await c.get(path[:-2] + "zz")).status_code == 404
        spec = (await c.get("/openapi.json")).json()
    assert "/c/{token}" in spec["paths"] and "/o/{token}" in spec["paths"]
    await ctx.close()


async def test_a_link_made_a_moment_ago_works(cw: ClickWeb) -> None:
    """Tokens carry the time they were made: one made now is not "from the future"."""
    from datetime import UTC, datetime

    from publisher.analytics.links import ClickLinks

    path = cw.links[READERS[0]][0]
    article = read_target(cw.settings.secret_key, path.split("/")[2], now=NOW)[3]
    links = ClickLinks(base_url="", secret=cw.settings.secret_key, run_id=cw.run_id, variant=1,
                       now=datetime.now(UTC))  # fmt: skip
    async with cw.client() as c:
        r = await c.get(links(article, 1))
    assert r.status_code == 302 and r.headers["location"] == _url_of(cw, path)
