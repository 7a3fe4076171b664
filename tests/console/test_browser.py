"""Headless Chromium (Debian's /usr/bin/chromium) drives the console over real HTTP.

Sign in → the dashboard's charts → find a reader and see today's digest, delivered to a real
aiosmtpd, among their messages → the preview at phone width → a viewer refused an admin
action → sign out. With UPDATE_SCREENSHOTS=1 the dashboard and reader shots are written to
docs/images/ (the README shows them).
"""

from __future__ import annotations

from playwright.sync_api import Page

from publisher.digests import pipeline
from publisher.staff import dashboard
from tests.console.browserkit import MARKS, READER, Live, browser_page, deliver, live, shot, sign_in
from tests.console.consolekit import USERS
from tests.digestkit import NOW, schedules

pytestmark = MARKS
__all__ = ["browser_page", "live"]  # fixtures


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
