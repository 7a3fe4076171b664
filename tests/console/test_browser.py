"""Headless Chromium (Debian's /usr/bin/chromium) drives the console over real HTTP.

Sign in → the dashboard's charts → find a reader and see today's digest, delivered to a real
aiosmtpd, among their messages → the preview at phone width → a viewer refused an admin
action → sign out. With UPDATE_SCREENSHOTS=1 the dashboard and reader shots are written to
docs/images/ (the README shows them).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.configured import build_drain
from publisher.digests import pipeline
from publisher.readers.suppressions import suppress
from publisher.staff import dashboard
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.console.consolekit import PASSWORD, USERS, add_messages, add_user
from tests.digestkit import NOW, add_subscriber, load_store, schedules
from tests.smtpserver import ThreadedServer
from tests.webserver import bind_loopback, serve

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
READER = "Reader.Kim@Example.org"


@dataclass
class Live:
    base: str
    settings: Settings
    engine: Engine
    clock: FixedClock
    smtp: ThreadedServer
    shots: Path


def history(engine: Engine) -> None:
    """Two weeks of sent mail, so the charts have something to show."""
    rng = random.Random(15)
    for day in range(14, 0, -1):
        at = NOW - timedelta(days=day)
        rows = [("digest", "sent", at)] * rng.randint(40, 60) + [("confirm", "sent", at)] * 5
        rows += [("digest", "failed", at)] * rng.randint(0, 2) + [("test", "sent", at)]
        add_messages(engine, rows)
        for n in range(rng.randint(3, 8)):
            add_subscriber(engine, f"r{day}-{n}@example.net", now=at)
        if day % 4 == 0:
            suppress(engine, [f"gone{day}@example.net"], reason="hard_bounce", now=at)


@pytest.fixture
def live(settings: Settings, engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[Live]:
    load_store(engine)
    clock.set(NOW)
    history(engine)
    for role in ("admin", "viewer"):
        add_user(engine, USERS[role], role)
    add_subscriber(engine, READER, ("politics", "economy"), name="김독자")
    with ThreadedServer() as smtp:
        sock = bind_loopback()
        port = sock.getsockname()[1]
        s = settings.model_copy(
            update={"public_base_url": f"http://127.0.0.1:{port}", "smtp_url": smtp.url}
        )
        ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
        shots = tmp_path / "screenshots"
        shots.mkdir()
        with serve(create_app(s, context=ctx), sock) as base:
            yield Live(base, s, engine, clock, smtp, shots)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=ARGS,
            headless=True, viewport={"width": 1280, "height": 900}, locale="ko-KR",
        )  # fmt: skip
        try:
            yield context.new_page()
        finally:
            context.close()


def shot(p: Page, live: Live, name: str, *, keep: bool = False) -> None:
    path = live.shots / f"{name}.png"
    p.screenshot(path=str(path), full_page=True)
    if keep and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copy(path, ROOT / "docs" / "images" / f"{name}.png")


def sign_in(p: Page, live: Live, email: str) -> None:
    p.goto(f"{live.base}/admin/")
    assert "/admin/signin" in p.url
    p.get_by_label("이메일").fill(email)
    p.get_by_label("비밀번호").fill(PASSWORD)
    p.get_by_role("button", name="로그인").click()
    p.wait_for_url(f"{live.base}/admin/")


def deliver(live: Live) -> None:
    drain = build_drain(live.settings, live.engine, live.clock)
    # Playwright's sync API holds this thread's event loop: the drain runs on its own.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(asyncio.run, drain.run(until_empty=True, max_seconds=30)).result(60)
    assert report.sent >= 1 and not report.error


def test_operator_and_viewer_in_the_console(live: Live, browser_page: Page) -> None:
    p = browser_page
    dashboard.rollup(live.engine, now=NOW, tz=live.settings.tz)
    sign_in(p, live, USERS["admin"])
    assert p.locator("section.chart svg").count() == 3
    assert p.locator("#depth").inner_text() == "0"
    shot(p, live, "console-dashboard", keep=True)

    run = pipeline.run_digest(live.engine, live.settings, schedules(), "morning", now=NOW)
    deliver(live)
    assert READER.lower() in {r.lower() for r in live.smtp.server.record.recipients()}

    p.get_by_role("link", name="구독자").click()
    p.get_by_role("searchbox").fill("READER.K")
    p.get_by_role("button", name="검색").click()
    p.get_by_role("link", name=READER).click()
    row = p.locator("#messages tr", has_text=f"morning #{run.run_id}")
    # (the drain records the relay's reply for refusals and deferrals, not per accepted row)
    assert "sent" in row.inner_text()
    shot(p, live, "console-subscriber", keep=True)

    p.set_viewport_size({"width": 390, "height": 844})
    p.goto(f"{live.base}/admin/digests/morning?sections=economy")
    phone = p.locator("iframe.phone")
    box = phone.bounding_box()
    assert box is not None and box["width"] <= 390
    frame = phone.content_frame
    assert frame is not None
    frame.get_by_text("경제").first.wait_for()
    shot(p, live, "console-preview-phone")
    p.get_by_role("button", name="☰").click()
    p.get_by_role("button", name="로그아웃").click()
    p.wait_for_url(f"{live.base}/admin/signin")

    p.set_viewport_size({"width": 1280, "height": 900})
    sign_in(p, live, USERS["viewer"])
    p.goto(f"{live.base}/admin/suppressions")
    assert p.get_by_role("button", name="추가").count() == 0  # the action is not shown
    token = p.locator('input[name="csrf"]').first.get_attribute("value")
    refused = p.request.post(f"{live.base}/admin/suppressions",
                             form={"csrf": token or "", "email": "x@example.org"})  # fmt: skip
    assert refused.status == 403
    p.get_by_role("button", name="로그아웃").click()
    p.wait_for_url(f"{live.base}/admin/signin")
    p.goto(f"{live.base}/admin/outbox")
    assert "/admin/signin" in p.url
