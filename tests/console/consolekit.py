"""The console on a real store: operators of each role, signing in over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, insert

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.staff import accounts, audit
from publisher.store.schema import contents, outbox
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, SCHEDULES, load_store, schedules

BASE_URL = "https://news.example.kr"
PASSWORD = "correct horse battery"
USERS = {"admin": "boss@example.kr", "editor": "desk@example.kr", "viewer": "intern@example.kr"}
CLIENT = ("203.0.113.7", 50000)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# The morning digest waits for an editor, two hours at most, then is skipped.
APPROVAL = SCHEDULES.replace(
    "    first_window: 24h\n",
    "    first_window: 24h\n    approval: required\n    approval_deadline: 2h\n",
    1,
)
HTML = {"Accept": "text/html,application/xhtml+xml"}


@dataclass
class Console:
    settings: Settings
    engine: Engine
    clock: FixedClock
    ctx: WebContext
    client: httpx.AsyncClient

    def new_client(self, **kw: Any) -> httpx.AsyncClient:
        app = self.client._transport.app  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app, client=kw.pop("client", CLIENT))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL, **kw)


def add_user(engine: Engine, email: str, role: str, *, now: Any = NOW) -> None:
    inv = accounts.invite(engine, email, role=role, now=now, valid=timedelta(hours=24))
    accounts.set_password(engine, inv.token, PASSWORD, now=now)


async def open_console(
    settings: Settings, engine: Engine, clock: FixedClock, text: str = SCHEDULES
) -> AsyncIterator[Console]:
    load_store(engine)
    clock.set(NOW)
    for role, email in USERS.items():
        add_user(engine, email, role)
    ctx = WebContext(settings, clock=clock, engine_=engine, schedules_=schedules(text))
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield Console(settings, engine, clock, ctx, client)
    await ctx.close()


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf field in the page"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/admin/signin")
    assert page.status_code == 200, page.text
    return await client.post(
        "/admin/signin",
        data={"csrf": csrf_of(page.text), "email": email, "password": password, "next": "/admin/"},
    )


async def signed_in(client: httpx.AsyncClient, role: str) -> str:
    """Sign in as the operator of ``role``; the CSRF token of their session."""
    r = await sign_in(client, USERS[role])
    assert r.status_code == 303, r.text
    home = await client.get("/admin/")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def add_messages(engine: Engine, rows: list[tuple[str, str, datetime]]) -> None:
    with engine.begin() as conn:
        made = conn.execute(
            insert(contents).values(
                key=f"k{len(rows)}{rows[0][2]}", kind="digest", body=b"x", created_at=rows[0][2]
            )
        ).inserted_primary_key
        assert made is not None
        cid = made[0]
        values: list[dict[str, Any]] = [
            {"dedupe_key": f"t:{i}:{at.isoformat()}", "kind": kind, "recipient": f"r{i}@x.org",
             "content_id": cid, "status": status, "next_attempt_at": at, "expires_at": at,
             "message_id": f"<{i}@x>", "created_at": at, "updated_at": at}
            for i, (kind, status, at) in enumerate(rows)
        ]  # fmt: skip
        conn.execute(insert(outbox), values)


def audited(engine: Engine, action: str) -> list[Any]:
    """The audit log's entries of ``action``, newest first."""
    return audit.recent(engine, action=action)
