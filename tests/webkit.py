"""The web app on a real store: settings, clock, outbox readers, form helpers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from publisher.core import messageids
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.messages.enqueue import fill as fill_message
from publisher.store.schema import contents, outbox, subscribers, suppressions
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, load_store, schedules

API_KEY = "key-for-tests-0123456789"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
_HIDDEN = re.compile(r'name="form_token" value="([^"]+)"')


def web_settings(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(update={"api_keys": ["other-key-abc", API_KEY], **extra})


@dataclass
class Web:
    settings: Settings
    engine: Engine
    clock: FixedClock
    ctx: WebContext
    client: httpx.AsyncClient


async def open_web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    load_store(engine)
    clock.set(NOW)
    ctx = WebContext(settings, clock=clock, engine_=engine, schedules_=schedules())
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"User-Agent": UA}
    ) as client:
        yield Web(settings, engine, clock, ctx, client)
    await ctx.close()  # no lifespan under ASGITransport: stop the view timer ourselves


def outbox_rows(engine: Engine, kind: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        q = select(outbox).order_by(outbox.c.id)
        if kind is not None:
            q = q.where(outbox.c.kind == kind)
        return [dict(r._mapping) for r in conn.execute(q)]


def message_of(engine: Engine, row: dict[str, Any]) -> str:
    """The personalised message as the delivery engine would send it."""
    with engine.connect() as conn:
        body = conn.execute(
            select(contents.c.body).where(contents.c.id == row["content_id"])
        ).scalar_one()
    subs = json.loads(row["substitutions"])
    mid = messageids.sent(row["message_id"], row["id"])
    return fill_message(bytes(body), subs, mid).decode("utf-8")


def link_in(message: str, path: str) -> str:
    found = re.search(
        r"https://news\.example\.kr/newsletter(/" + path + r"/[A-Za-z0-9._-]+)", message
    )
    assert found, f"no /{path}/ link in the message"
    return found.group(1)


def subscriber_status(engine: Engine, email: str) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(subscribers.c.status).where(subscribers.c.email == email)
        ).scalar()
    return None if value is None else str(value)


def suppressed(engine: Engine, email: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        q = select(suppressions.c.scope, suppressions.c.reason).where(suppressions.c.email == email)
        return [(str(s), str(r)) for s, r in conn.execute(q)]


def form_token(html: str) -> str:
    found = _HIDDEN.search(html)
    assert found
    return found.group(1)


async def share_token(web: Web, article_id: str = "a0001") -> str:
    r = await web.client.get(f"/articles/{article_id}/share")
    assert r.status_code == 200, r.text
    web.clock.advance(timedelta(seconds=5))
    return form_token(r.text)
