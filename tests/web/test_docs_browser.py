"""/docs renders the API in headless Chromium with every other host unreachable."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Route, sync_playwright
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import web_settings
from tests.webserver import bind_loopback, serve

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def test_docs_render_offline(
    settings: Settings, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    load_store(engine)
    clock.set(NOW)
    s = web_settings(settings)
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:  # what a machine without internet access would get
            elsewhere.append(route.request.url)
            route.abort()

    with serve(create_app(s, context=ctx), bind_loopback()) as base, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.route("**/*", offline)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
        finally:
            browser.close()
    assert elsewhere == []
    assert any("/api/articles/" in p for p in paths), paths
