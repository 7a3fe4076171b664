"""Breaking news in the console: an editor sees the alert email, the opted-in readers and the
alerts left today, sends it (once: a second try, a retracted article or a full day is a clear
page, not JSON), sends a test to themselves; the alerts page lists what went out."""

from __future__ import annotations

import pytest

from tests.alerts.alertkit import reader
from tests.console.consolekit import HTML, USERS, Console, audited, signed_in
from tests.webkit import outbox_rows

pytestmark = pytest.mark.asyncio


def _readers(console: Console) -> None:
    reader(console.engine, "kim@example.kr", alerts=True)
    reader(console.engine, "lee@example.kr", alerts=True)
    reader(console.engine, "park@example.kr", alerts=False)


async def test_editor_previews_and_sends_an_alert_to_opted_in_readers(console: Console) -> None:
    c = console.client
    _readers(console)
    token = await signed_in(c, "editor")
    listing = await c.get("/admin/articles")
    assert "/admin/articles/a0001/alert" in listing.text
    page = await c.get("/admin/articles/a0001/alert")
    assert page.status_code == 200
    assert 'id="alert-readers">2<' in page.text and 'id="alerts-left">3<' in page.text
    frame = await c.get("/admin/articles/a0001/alert.html")
    assert frame.status_code == 200 and "sandbox" in frame.headers["content-security-policy"]
    r = await c.post("/admin/articles/a0001/alert", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/alerts")
    sent = sorted(row["recipient"] for row in outbox_rows(console.engine, "alert"))
    assert sent == ["kim@example.kr", "lee@example.kr"]
    history = await c.get("/admin/alerts")
    assert "a0001" in history.text and 'id="alerts-left">2<' in history.text
    entry = audited(console.engine, "alert.send")[0]
    assert entry.actor == USERS["editor"] and entry.target == "a0001"
    assert entry.detail["recipients"] == 2

    shown = await c.get("/admin/articles/a0001/alert")
    assert 'id="already"' in shown.text and "disabled" in shown.text
    again = await c.post("/admin/articles/a0001/alert", data={"csrf": token}, headers=HTML)
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]
    assert "already had its alert" in again.text and "<nav" in again.text
    assert len(outbox_rows(console.engine, "alert")) == 2


async def test_a_full_day_and_a_retracted_article_are_clear_pages(console: Console) -> None:
    c = console.client
    _readers(console)
    token = await signed_in(c, "editor")
    for n in ("a0001", "a0002", "a0003"):
        assert (await c.post(f"/admin/articles/{n}/alert", data={"csrf": token})).status_code == 303
    page = await c.get("/admin/articles/a0004/alert")
    assert 'id="alerts-left">0<' in page.text and "disabled" in page.text
    full = await c.post("/admin/articles/a0004/alert", data={"csrf": token}, headers=HTML)
    assert full.status_code == 429 and "alerts_per_day" in full.text
    await c.post("/admin/articles/a0005/retract", data={"csrf": token})
    gone = await c.post("/admin/articles/a0005/alert", data={"csrf": token}, headers=HTML)
    assert gone.status_code == 409 and "retracted" in gone.text
    shown = await c.get("/admin/articles/a0005/alert", headers=HTML)
    assert shown.status_code == 409 and "<nav" in shown.text
    missing = await c.get("/admin/articles/nope/alert", headers=HTML)
    assert missing.status_code == 404 and "nope" in missing.text


async def test_a_test_alert_goes_to_the_editor_only(console: Console) -> None:
    c = console.client
    _readers(console)
    token = await signed_in(c, "editor")
    r = await c.post("/admin/articles/a0001/alert/test", data={"csrf": token})
    assert r.status_code == 303
    assert [row["recipient"] for row in outbox_rows(console.engine)] == [USERS["editor"]]
    assert outbox_rows(console.engine, "alert") == []
    assert audited(console.engine, "alert.test")[0].detail["to"] == USERS["editor"]


async def test_viewer_reads_the_history_but_cannot_send(console: Console) -> None:
    c = console.client
    _readers(console)
    token = await signed_in(c, "viewer")
    assert (await c.get("/admin/alerts")).status_code == 200
    assert '/alert"' not in (await c.get("/admin/articles")).text
    for method, path in (("GET", "/admin/articles/a0001/alert"),
                         ("GET", "/admin/articles/a0001/alert.html"),
                         ("POST", "/admin/articles/a0001/alert"),
                         ("POST", "/admin/articles/a0001/alert/test")):  # fmt: skip
        r = await c.request(method, path, data={"csrf": token} if method == "POST" else None)
        assert r.status_code == 403, path
    page = await c.post("/admin/articles/a0001/alert", data={"csrf": token}, headers=HTML)
    assert page.status_code == 403 and "editor" in page.text and "<nav" in page.text
    assert outbox_rows(console.engine) == [] and audited(console.engine, "alert.send") == []


async def test_send_without_the_csrf_token_is_refused(console: Console) -> None:
    c = console.client
    _readers(console)
    await signed_in(c, "editor")
    assert (await c.post("/admin/articles/a0001/alert", data={})).status_code == 403
    assert outbox_rows(console.engine) == []
