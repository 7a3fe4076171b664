"""The console's access rules over HTTP: sign-in redirects, CSRF, session fixation, cookie
flags, idle expiry, sign-in limits, roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from publisher.console.routes import PUBLIC
from tests.console.consolekit import PASSWORD, USERS, Console, csrf_of, sign_in, signed_in

pytestmark = pytest.mark.asyncio
SAMPLE = {"digest_id": "morning", "sid": "1", "run_id": "1", "external_id": "a0001",
          "token": "x", "name": "console.css"}  # fmt: skip


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's routes, through the routers it includes (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes") and inner is not route:
            yield from _walk(list(inner.routes))


def admin_routes(console: Console) -> list[tuple[str, str]]:
    """Every (method, path) under /admin that needs a session, taken from the app itself."""
    app = console.client._transport.app  # type: ignore[attr-defined]
    found = []
    for route in _walk(list(app.routes)):
        if isinstance(route, APIRoute) and route.path.startswith("/admin"):
            if route.path in PUBLIC:
                continue
            path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], route.path)
            found += [(m, path) for m in sorted(route.methods or ())]
    return found


async def test_every_admin_route_without_a_session_redirects_to_sign_in(console: Console) -> None:
    routes = admin_routes(console)
    assert len(routes) >= 25  # the enumeration found the console (a new route is covered too)
    for method, path in routes:
        r = await console.client.request(method, path, data={"csrf": "x"})
        assert r.status_code == 303, (method, path, r.status_code)
        assert r.headers["location"].startswith("/admin/signin"), (method, path)


async def test_a_forged_or_expired_cookie_is_no_session(console: Console) -> None:
    console.client.cookies.set("publisher_console", "abc.def", path="/admin")
    r = await console.client.get("/admin/")
    assert r.status_code == 303


async def test_post_without_the_csrf_token_is_refused(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "admin")
    form = {"email": "spam@example.org", "reason": "manual"}
    assert (await c.post("/admin/suppressions", data=form)).status_code == 403
    assert (await c.post("/admin/suppressions", data={**form, "csrf": "x" * 32})).status_code == 403
    r = await c.post("/admin/suppressions", data={**form, "csrf": token})
    assert r.status_code == 303
    assert "spam@example.org" in (await c.get("/admin/suppressions")).text


async def test_sign_in_form_without_its_token_is_refused(console: Console) -> None:
    r = await console.client.post(
        "/admin/signin", data={"email": USERS["admin"], "password": PASSWORD}
    )
    assert r.status_code == 403
    assert "publisher_console=" not in r.headers.get("set-cookie", "")


async def test_sign_in_makes_a_new_session_id_and_sign_out_ends_it(console: Console) -> None:
    c = console.client
    planted = "attacker-chosen-id.0000"
    c.cookies.set("publisher_console", planted, path="/admin")
    r = await sign_in(c, USERS["admin"])
    assert r.status_code == 303
    first = r.cookies.get("publisher_console")
    assert first and first != planted
    token = csrf_of((await c.get("/admin/")).text)
    out = await c.post("/admin/signout", data={"csrf": token})
    assert out.status_code == 303 and out.headers["location"] == "/admin/signin"
    async with console.new_client() as other:  # the old cookie, replayed, opens nothing
        other.cookies.set("publisher_console", first, path="/admin")
        assert (await other.get("/admin/")).status_code == 303
    again = await sign_in(c, USERS["admin"])
    assert again.cookies.get("publisher_console") not in (first, planted)


async def test_session_cookie_flags(console: Console) -> None:
    r = await sign_in(console.client, USERS["viewer"])
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("publisher_console="))
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/admin"} <= flags


async def test_no_secure_flag_on_a_plain_http_install(console: Console) -> None:
    console.ctx.settings = console.settings.model_copy(
        update={"public_base_url": "http://127.0.0.1:8080"}
    )
    r = await console.client.get("/admin/signin")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" not in cookie


async def test_an_idle_session_ends(console: Console) -> None:
    c = console.client
    await signed_in(c, "viewer")
    console.clock.advance(timedelta(minutes=console.settings.console_idle_minutes - 1))
    assert (await c.get("/admin/")).status_code == 200  # a request keeps it alive
    console.clock.advance(timedelta(minutes=console.settings.console_idle_minutes + 1))
    assert (await c.get("/admin/")).status_code == 303


async def test_unknown_address_and_wrong_password_answer_alike(console: Console) -> None:
    c = console.client
    wrong = await sign_in(c, USERS["admin"], "not the password")
    unknown = await sign_in(c, "nobody@example.kr", "not the password")
    assert wrong.status_code == unknown.status_code == 401

    def body(text: str) -> str:
        return re.sub(r'value="[^"]*"', "", text)

    assert body(wrong.text) == body(unknown.text)


async def test_sign_in_is_limited_per_account(console: Console) -> None:
    c = console.client
    for _ in range(console.settings.console_signin_per_account):
        assert (await sign_in(c, USERS["editor"], "guess-guess")).status_code == 401
    # Locked for this window, even with the right password; the limit ends with the window.
    assert (await sign_in(c, USERS["editor"])).status_code == 429
    console.clock.advance(timedelta(minutes=console.settings.console_signin_window_minutes))
    assert (await sign_in(c, USERS["editor"])).status_code == 303


async def test_sign_in_is_limited_per_client_ip(console: Console) -> None:
    c = console.client
    for i in range(console.settings.console_signin_per_ip):
        assert (await sign_in(c, f"guess{i}@example.kr", "guess-guess")).status_code == 401
    assert (await sign_in(c, USERS["viewer"])).status_code == 429
    async with console.new_client(client=("198.51.100.9", 4000)) as other:
        assert (await sign_in(other, USERS["viewer"])).status_code == 303


async def test_next_never_leaves_the_console(console: Console) -> None:
    c = console.client
    page = await c.get("/admin/signin?next=//evil.example/x")
    r = await c.post("/admin/signin", data={
        "csrf": csrf_of(page.text), "email": USERS["viewer"], "password": PASSWORD,
        "next": "//evil.example/x",
    })  # fmt: skip
    assert r.headers["location"] == "/admin/"


async def test_viewer_is_refused_admin_and_editor_actions_and_does_not_see_them(
    console: Console,
) -> None:
    c = console.client
    token = await signed_in(c, "viewer")
    page = (await c.get("/admin/suppressions")).text
    assert 'action="/admin/suppressions"' not in page  # the add form is not shown
    for path in (
        "/admin/suppressions",
        "/admin/outbox/retry",
        "/admin/subscribers/1/unsubscribe",
        "/admin/digests/morning/test",
        "/admin/articles/a0001/retract",
        "/admin/users",
    ):
        r = await c.post(path, data={"csrf": token, "email": "x@example.org", "reason": "r"})
        assert r.status_code == 403, path
    assert (await c.get("/admin/users")).status_code == 403
    assert (await c.get("/admin/audit.jsonl")).status_code == 403
    assert (await c.get("/admin/digests/morning/preview.html")).status_code == 403
    assert "Send now" not in (await c.get("/admin/digests/morning?lang=en")).text


async def test_editor_sends_a_test_but_may_not_manage_subscribers(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "editor")
    assert (await c.post("/admin/digests/morning/test", data={"csrf": token})).status_code == 303
    r = await c.post("/admin/subscribers/1/unsubscribe", data={"csrf": token})
    assert r.status_code == 403
