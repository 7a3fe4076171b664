"""Headless Chromium drives the console over real HTTP: the live server, the browser and the
steps every browser test shares (sign in, deliver the outbox to a real aiosmtpd)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.configured import build_drain
from publisher.readers.suppressions import suppress
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.console.consolekit import PASSWORD, USERS, add_messages, add_user
from tests.digestkit import NOW, SCHEDULES, add_subscriber, load_store, schedules
from tests.smtpserver import ThreadedServer
from tests.webserver import bind_loopback, serve

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
MARKS = [
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


@contextmanager
def live_console(
    settings: Settings, engine: Engine, clock: FixedClock, tmp_path: Path, text: str = SCHEDULES
) -> Iterator[Live]:
    """The app on a loopback port with a real aiosmtpd: operators of each role, one reader."""
    load_store(engine)
    clock.set(NOW)
    history(engine)
    for role, email in USERS.items():
        add_user(engine, email, role)
    add_subscriber(engine, READER, ("politics", "economy"), name="김독자")
    with ThreadedServer() as smtp:
        sock = bind_loopback()
        port = sock.getsockname()[1]
        s = settings.model_copy(
            update={"public_base_url": f"http://127.0.0.1:{port}", "smtp_url": smtp.url}
        )
        ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules(text))
        shots = tmp_path / "screenshots"
        shots.mkdir()
        with serve(create_app(s, context=ctx), sock) as base:
            yield Live(base, s, engine, clock, smtp, shots)


@pytest.fixture
def live(settings: Settings, engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[Live]:
    with live_console(settings, engine, clock, tmp_path) as found:
        yield found


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
