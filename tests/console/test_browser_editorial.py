"""Headless Chromium: an editor approves a held run in the console and it reaches a real
aiosmtpd; sends a breaking-news alert that reaches the opted-in reader only; signs out, and a
console page then sends them to sign in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from tests.alerts.alertkit import reader
from tests.console.browserkit import (
    MARKS,
    READER,
    Live,
    browser_page,
    deliver,
    live_console,
    shot,
    sign_in,
)
from tests.console.consolekit import APPROVAL, USERS
from tests.digestkit import NOW, schedules

pytestmark = MARKS
__all__ = ["browser_page"]  # a fixture
FAN = "fan@example.net"  # opted in to alerts


@pytest.fixture
def held(settings: Settings, engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[Live]:
    with live_console(settings, engine, clock, tmp_path, APPROVAL) as found:
        reader(engine, FAN, alerts=True)
        yield found


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def test_editor_approves_a_held_run_and_it_is_delivered(held: Live, browser_page: Page) -> None:
    p = browser_page
    made = pipeline.run_digest(held.engine, held.settings, schedules(APPROVAL), "morning", now=NOW)
    assert made.status == "awaiting_approval" and made.enqueued == 0
    sign_in(p, held, USERS["editor"])
    p.get_by_role("link", name="뉴스레터").click()
    p.locator("#pending").get_by_role("link", name=str(made.run_id), exact=True).click()
    assert p.locator("#run-status").inner_text() == "awaiting_approval"
    assert int(p.locator("#recipients").inner_text().replace(",", "")) >= 2
    p.set_viewport_size({"width": 1280, "height": 1600})  # the whole page: no resize to shoot
    for size in ("desktop", "phone"):
        p.locator(f"iframe.{size}").content_frame.get_by_text("아침").first.wait_for()
    shot(p, held, "console-approval", keep=True)
    p.set_viewport_size({"width": 390, "height": 844})
    frame = p.locator("iframe.phone").content_frame
    frame.get_by_text("아침").first.wait_for()
    shot(p, held, "console-approval-phone")
    p.set_viewport_size({"width": 1280, "height": 900})
    p.get_by_role("button", name="승인하고 발송").click()
    p.wait_for_url(f"{held.base}/admin/digests/morning?*")
    row = p.locator("tr", has=p.get_by_role("link", name=str(made.run_id), exact=True))
    assert "enqueued" in row.inner_text() and USERS["editor"] in row.inner_text()
    deliver(held)
    got = {r.lower() for r in held.smtp.server.record.recipients()}
    assert READER.lower() in got and FAN in got


def test_editor_sends_an_alert_that_reaches_opted_in_readers_only(
    held: Live, browser_page: Page
) -> None:
    p = browser_page
    p.on("dialog", _accept)  # the "send to everyone?" confirmation
    sign_in(p, held, USERS["editor"])
    p.get_by_role("link", name="기사").click()
    p.get_by_role("link", name="속보로 보내기").first.click()
    assert p.locator("#alert-readers").inner_text() == "1"
    assert p.locator("#alerts-left").inner_text() == "3"
    alert_page = p.url
    p.locator("iframe.desktop").content_frame.locator("a").first.wait_for()
    p.get_by_role("button", name="속보로 보내기").click()
    p.wait_for_url(f"{held.base}/admin/alerts?*")
    assert p.locator("#alerts-left").inner_text() == "2"
    assert p.locator("#alerts tr").count() == 2  # the header and the alert
    deliver(held)
    assert list(held.smtp.server.record.recipients()) == [FAN]
    p.goto(alert_page)  # again: it says so, and offers no second send
    assert "이미 속보로" in p.locator("#already").inner_text()
    assert p.get_by_role("button", name="속보로 보내기").is_disabled()

    p.get_by_role("button", name="로그아웃").click()
    p.wait_for_url(f"{held.base}/admin/signin")
    p.goto(f"{held.base}/admin/alerts")
    assert "/admin/signin" in p.url
