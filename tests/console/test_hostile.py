"""Hostile input to the console answers 4xx, never 500."""

from __future__ import annotations

import pytest

from tests.console.consolekit import Console, signed_in

pytestmark = pytest.mark.asyncio
HUGE = "9" * 40


async def test_odd_paths_and_queries_are_client_errors(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "admin")
    gets = [
        f"/admin/subscribers/{HUGE}",
        "/admin/subscribers/abc",
        "/admin/subscribers/-1",
        f"/admin/digests/morning/runs/{HUGE}.html",
        "/admin/digests/nope",
        "/admin/digests/nope/preview.html",
        f"/admin/audit?before={HUGE}",
        "/admin/subscribers?q=" + "a" * 5000,
        "/admin/subscribers?q=%00%ff",
        "/admin/outbox?status=bogus&kind=bogus&domain=%25%5F",
        "/admin/suppressions?q=%00",
        "/admin/digests/morning?sections=" + "x" * 300,
    ]
    for path in gets:
        r = await c.get(path)
        assert r.status_code < 500, (path, r.status_code)
    posts = [
        ("/admin/suppressions", {"email": "not an address"}),
        ("/admin/suppressions/remove", {"email": "a@b.org"}),  # no reason
        ("/admin/users", {"email": "x@y.org", "role": "root"}),
        ("/admin/users", {"email": "bad", "role": "viewer"}),
        (f"/admin/subscribers/{HUGE}/unsubscribe", {}),
        ("/admin/articles/" + "x" * 400 + "/retract", {}),
        ("/admin/digests/nope/send", {}),
    ]
    for path, data in posts:
        r = await c.post(path, data={**data, "csrf": token})
        assert 400 <= r.status_code < 500, (path, r.status_code)


async def test_a_huge_cookie_or_form_is_refused_quietly(console: Console) -> None:
    c = console.client
    c.cookies.set("publisher_console", "x" * 4000 + ".y", path="/admin")
    assert (await c.get("/admin/")).status_code == 303
    page = await c.get("/admin/signin")
    assert page.status_code == 200
    r = await c.post("/admin/signin", data={"csrf": "x", "email": "a" * 100_000})
    assert r.status_code in (403, 413)
