"""Approval in the console: the digests page lists the held run, the run page shows its
email, who would get it, its deadline and what happens then; an editor approves (the run is
queued, history says who) or rejects; viewers and forged forms are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import approval, pipeline
from tests.console.consolekit import (
    APPROVAL,
    HTML,
    USERS,
    Console,
    audited,
    open_console,
    signed_in,
)  # fmt: skip
from tests.digestkit import NOW, add_subscriber, schedules
from tests.webkit import outbox_rows

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def held(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Console]:
    async for c in open_console(settings, engine, clock, APPROVAL):
        for who in ("kim@example.kr", "lee@example.kr"):
            add_subscriber(engine, who)
        pipeline.run_digest(engine, settings, schedules(APPROVAL), "morning", now=NOW)
        yield c


def _run_id(console: Console) -> int:
    return approval.pending(console.engine)[0].id


async def test_held_run_is_listed_and_shown_with_count_and_deadline(held: Console) -> None:
    c = held.client
    await signed_in(c, "viewer")
    run_id = _run_id(held)
    home = await c.get("/admin/")
    assert "승인 대기: 1" in home.text and "/admin/digests#pending" in home.text
    listing = await c.get("/admin/digests")
    assert f'href="/admin/runs/{run_id}"' in listing.text
    page = await c.get(f"/admin/runs/{run_id}")
    assert page.status_code == 200
    assert 'id="recipients">2<' in page.text
    assert 'id="deadline">2026-11-24 09:00<' in page.text  # 07:00 Seoul + 2 h
    assert "건너뜀" in page.text  # what the deadline does
    assert "/approve" not in page.text and "preview.html" not in page.text  # viewer: no actions


async def test_editor_sees_the_email_and_approves(held: Console) -> None:
    c = held.client
    token = await signed_in(c, "editor")
    run_id = _run_id(held)
    page = await c.get(f"/admin/runs/{run_id}")
    assert f"/admin/runs/{run_id}/approve" in page.text and 'class="phone"' in page.text
    frame = await c.get(f"/admin/runs/{run_id}/preview.html")
    assert frame.status_code == 200 and "아침" in frame.text
    assert "sandbox" in frame.headers["content-security-policy"]
    assert outbox_rows(held.engine) == []
    r = await c.post(f"/admin/runs/{run_id}/approve", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/digests/morning")
    assert len(outbox_rows(held.engine)) == 2
    history = await c.get("/admin/digests/morning")
    assert "enqueued" in history.text and f"decided by {USERS['editor']}" in history.text.replace(
        "결정", "decided by"
    )
    entry = audited(held.engine, "run.approve")[0]
    assert entry.actor == USERS["editor"] and entry.target == f"morning#{run_id}"
    assert entry.detail["enqueued"] == 2 and entry.ip == "203.0.113.7"
    again = await c.post(f"/admin/runs/{run_id}/approve", data={"csrf": token}, headers=HTML)
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]
    assert "not awaiting approval" in again.text and "<nav" in again.text


async def test_editor_rejects_and_nothing_is_sent(held: Console) -> None:
    c = held.client
    token = await signed_in(c, "editor")
    run_id = _run_id(held)
    r = await c.post(f"/admin/runs/{run_id}/reject", data={"csrf": token})
    assert r.status_code == 303
    page = await c.get(f"/admin/runs/{run_id}")
    assert 'id="run-status">held<' in page.text and USERS["editor"] in page.text
    assert outbox_rows(held.engine) == []
    assert audited(held.engine, "run.reject")[0].target == f"morning#{run_id}"


async def test_viewer_and_forged_forms_are_refused(held: Console) -> None:
    c = held.client
    token = await signed_in(c, "viewer")
    run_id = _run_id(held)
    for action in ("approve", "reject"):
        r = await c.post(f"/admin/runs/{run_id}/{action}", data={"csrf": token})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await c.get(f"/admin/runs/{run_id}/preview.html")).status_code == 403
    c.cookies.clear()
    token = await signed_in(c, "editor")
    r = await c.post(f"/admin/runs/{run_id}/approve", data={"csrf": "x" * 32})
    assert r.status_code == 403
    assert outbox_rows(held.engine) == [] and audited(held.engine, "run.approve") == []


async def test_unknown_run_is_a_console_page_to_a_browser_and_json_otherwise(
    held: Console,
) -> None:
    c = held.client
    token = await signed_in(c, "editor")
    page = await c.get("/admin/runs/999", headers=HTML)
    assert page.status_code == 404 and "<nav" in page.text and "no digest run 999" in page.text
    assert (await c.get("/admin/runs/999")).json()["error"]["code"] == "not_found"
    r = await c.post("/admin/runs/999/approve", data={"csrf": token}, headers=HTML)
    assert r.status_code == 404 and "no digest run 999" in r.text
