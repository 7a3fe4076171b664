"""A digest run on the web app's store, its tracked links, and clients at chosen addresses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, func, select

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.store.clickschema import click_counts, source_view_buckets
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, add_subscriber, load_store, schedules
from tests.webkit import UA, message_of, outbox_rows

LINK = re.compile(
    r"https://news\.example\.kr/newsletter(/c/[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)?)"
)
READERS = ("minsu.kim@example.kr", "jane@example.kr")


@dataclass
class ClickWeb:
    settings: Settings
    engine: Engine
    clock: FixedClock
    ctx: WebContext
    app: object
    run_id: int
    links: dict[str, list[str]]  # recipient → paths of the article links, in order

    def client(self, ip: str = "198.51.100.20", ua: str = UA) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 50000))  # type: ignore[arg-type]
        return httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"User-Agent": ua}
        )


def links_of(engine: Engine) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in outbox_rows(engine, "digest"):
        text = message_of(engine, row).split("Content-Type: text/html")[0]
        found[row["recipient"]] = LINK.findall(text)
    return found


async def open_clicks(
    settings: Settings, engine: Engine, clock: FixedClock
) -> AsyncIterator[ClickWeb]:
    load_store(engine)
    add_subscriber(engine, READERS[0], ("politics", "economy"), name="김민수")
    add_subscriber(engine, READERS[1], name="Jane")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.run_id is not None and result.enqueued == 2
    clock.set(NOW)
    ctx = WebContext(settings, clock=clock, engine_=engine, schedules_=schedules())
    app = create_app(settings, context=ctx)
    yield ClickWeb(settings, engine, clock, ctx, app, result.run_id, links_of(engine))
    await ctx.close()


def counts(engine: Engine) -> dict[tuple[int, str, str], int]:
    """(position, kind, reason) → clicks stored."""
    c = click_counts.c
    q = select(c.position, c.kind, c.reason, func.sum(c.count)).group_by(
        c.position, c.kind, c.reason
    )
    with engine.connect() as conn:
        return {(int(p), str(k), str(r)): int(n) for p, k, r, n in conn.execute(q) if n}


def email_views(engine: Engine) -> dict[int, int]:
    c = source_view_buckets.c
    q = select(c.article_id, func.sum(c.count)).where(c.source == "email").group_by(c.article_id)
    with engine.connect() as conn:
        return {int(a): int(n) for a, n in conn.execute(q) if n}
