"""A refused console request answers a page in the console's style to a browser (Accept:
text/html), JSON to everyone else; the API answers JSON whatever the Accept says."""

from __future__ import annotations

import pytest

from tests.console.consolekit import HTML, Console, signed_in
from tests.digestkit import add_subscriber
from tests.webkit import outbox_rows

pytestmark = pytest.mark.asyncio


async def test_a_viewers_admin_action_is_a_403_page_in_a_browser(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "viewer")
    form = {"csrf": token, "email": "x@example.org", "reason": "manual"}
    page = await c.post("/admin/suppressions", data=form, headers=HTML)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "권한이 없습니다" in page.text and "this needs the admin role" in page.text
    assert "<nav" in page.text and page.headers["x-frame-options"] == "DENY"
    plain = await c.post("/admin/suppressions", data=form)
    assert plain.status_code == 403 and plain.json()["error"]["code"] == "forbidden"


async def test_missing_pages_and_bad_ids_are_console_pages(console: Console) -> None:
    c = console.client
    await signed_in(c, "viewer")
    missing = await c.get("/admin/subscribers/424242", headers=HTML)
    assert missing.status_code == 404 and "찾을 수 없습니다" in missing.text
    bad = await c.get("/admin/subscribers/-3", headers=HTML)
    assert bad.status_code == 400 and "잘못된 요청" in bad.text and "<nav" in bad.text
    assert (await c.get("/admin/subscribers/-3")).status_code == 422  # JSON clients: as before
    english = await c.get("/admin/nothing-here?lang=en", headers=HTML)
    assert english.status_code == 404 and "Not found" in english.text


async def test_a_forged_form_without_a_session_still_goes_to_sign_in(console: Console) -> None:
    r = await console.client.post("/admin/suppressions", data={"csrf": "x"}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/signin")


async def test_the_api_and_public_pages_keep_their_answers(console: Console) -> None:
    c = console.client
    api = await c.get("/api/runs", headers=HTML)
    assert api.headers["content-type"].startswith("application/json")
    public = await c.get("/no-such-page", headers=HTML)
    assert public.status_code == 404 and "운영 콘솔" not in public.text


async def test_what_the_request_named_is_escaped_in_the_page(console: Console) -> None:
    c = console.client
    await signed_in(c, "editor")
    r = await c.get("/admin/articles/%3Cb%20onclick=x%3Ehi/alert", headers=HTML)
    assert r.status_code == 404
    assert "<b onclick" not in r.text and "&lt;b onclick=x&gt;hi" in r.text
    long = await c.get("/admin/runs/" + "9" * 40, headers=HTML)
    assert long.status_code == 400 and "<nav" in long.text


async def test_every_new_form_needs_its_csrf_token(console: Console) -> None:
    c = console.client
    sid = add_subscriber(console.engine, "reader@example.org")
    await signed_in(c, "admin")
    for path, data in (
        ("/admin/runs/1/approve", {}), ("/admin/runs/1/reject", {}),
        ("/admin/articles/a0001/alert", {}), ("/admin/articles/a0001/alert/test", {}),
        (f"/admin/subscribers/{sid}/alerts", {"alerts": "on"}),
    ):  # fmt: skip
        for token in (None, "x" * 43):
            sent = data if token is None else {**data, "csrf": token}
            r = await c.post(path, data=sent)
            assert r.status_code == 403, (path, token, r.status_code)
    assert outbox_rows(console.engine) == []
    assert 'id="alerts">받지 않음<' in (await c.get(f"/admin/subscribers/{sid}")).text
