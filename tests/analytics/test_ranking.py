"""Email reads feed 많이 본 뉴스: human clicks are views with source "email", weighted by
most_viewed_sources; machine clicks never move the ranking (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.analytics.links import read_target
from publisher.intake.pageviews import most_viewed
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.analytics.clickkit import READERS, ClickWeb
from tests.digestkit import NOW

pytestmark = pytest.mark.asyncio
SCANNER_UA = "Mozilla/5.0 (compatible; Mimecast URL scan)"


def _ids(cw: ClickWeb, weights: dict[str, float] | None = None) -> list[int]:
    ranked = most_viewed(
        cw.engine, now=cw.clock.now(), window=timedelta(hours=24), limit=5, weights=weights
    )
    return [r.article.id or 0 for r in ranked]


def _link_of(cw: ClickWeb, article_id: int) -> str:
    for path in cw.links[READERS[1]]:
        if read_target(cw.settings.secret_key, path.split("/")[2], now=NOW)[3] == article_id:
            return path
    raise AssertionError(f"no link to article {article_id}")


async def test_human_clicks_move_the_ranking_and_scanners_do_not(cw: ClickWeb) -> None:
    cw.clock.advance(timedelta(hours=1))
    before = _ids(cw)
    # Articles outside the top 5, 10 views behind each other (tests/digestkit.py).
    outside = [a for a in range(1, 19) if a not in before]
    read, scanned = outside[0], outside[1]  # 950 and 940 views; the top one has 1,000
    for n in range(60):  # 60 scanners, each from its own address, all on one article
        async with cw.client(ip=f"203.0.113.{n + 1}", ua=SCANNER_UA) as c:
            await c.get(_link_of(cw, scanned))
    await cw.ctx.flush_views()
    assert _ids(cw) == before
    for n in range(60):  # 60 readers on the other
        async with cw.client(ip=f"198.51.100.{n + 1}") as c:
            await c.get(_link_of(cw, read))
    await cw.ctx.flush_views()
    after = _ids(cw)
    assert after[0] == read and scanned not in after
    # Weighted out, email reads no longer count; weighted down, they count less.
    assert _ids(cw, {"web": 1.0, "email": 0.0}) == before
    assert _ids(cw, {"web": 1.0, "email": 0.5})[0] == before[0]  # 950 + 30 < 1,000
    # The public ranking the site and the next digest read follows the setting.
    s = cw.settings.model_copy(update={"most_viewed_sources": {"web": 1.0, "email": 0.0}})
    for settings, first in ((cw.settings, read), (s, before[0])):
        cw.app = create_app(
            settings, context=WebContext(settings, clock=cw.clock, engine_=cw.engine)
        )
        async with cw.client() as c:
            items = (await c.get("/api/most-viewed", params={"limit": 5})).json()["items"]
        from publisher.store import clicks as store_clicks

        with cw.engine.connect() as conn:
            info = store_clicks.article_info(conn, first)
        assert info is not None and items[0]["id"] == info.external_id
