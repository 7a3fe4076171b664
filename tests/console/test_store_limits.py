"""Console input PostgreSQL refuses (a NUL, an id past 32 bits, a made-up section) is a 4xx
on both stores, and changes nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.models import Subscriber
from publisher.store.subscribers import get_by_email
from tests.console.consolekit import APPROVAL, Console, audited, open_console, signed_in
from tests.digestkit import add_subscriber

pytestmark = pytest.mark.asyncio
HUGE = "99999999999"
PAST_INT4 = str(2**31)


def _reader(engine: Engine) -> Subscriber | None:
    with engine.connect() as conn:
        return get_by_email(conn, "reader@example.kr")


@pytest_asyncio.fixture
async def console(
    settings: Settings, any_engine: Engine, clock: FixedClock
) -> AsyncIterator[Console]:
    async for c in open_console(settings, any_engine, clock, APPROVAL):
        yield c


async def test_ids_past_32_bits_are_client_errors(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "admin")
    for path in (f"/admin/subscribers/{HUGE}", f"/admin/subscribers/{PAST_INT4}/delete",
                 f"/admin/runs/{PAST_INT4}", f"/admin/runs/{HUGE}/preview.html",
                 f"/admin/digests/morning/runs/{PAST_INT4}.html"):  # fmt: skip
        r = await c.get(path)
        assert r.status_code == 422, (path, r.status_code)
    for path in (
        f"/admin/subscribers/{HUGE}/confirm",
        f"/admin/runs/{PAST_INT4}/approve",
        f"/admin/runs/{HUGE}/reject",
        f"/admin/subscribers/{PAST_INT4}/unsubscribe",
    ):
        r = await c.post(path, data={"csrf": token})
        assert r.status_code == 422, (path, r.status_code)
    # The audit log's "older" link: a cursor no id can reach shows the newest page.
    assert (await c.get(f"/admin/audit?before={HUGE}")).status_code == 200


async def test_a_nul_in_a_query_or_path_is_a_400(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "admin")
    for path in ("/admin/subscribers?q=a%00b", "/admin/outbox?domain=a%00b",
                 "/admin/suppressions?q=a%00", "/admin/articles/a%00b/alert"):  # fmt: skip
        assert (await c.get(path)).status_code == 400, path
    r = await c.post("/admin/articles/a%00b/retract", data={"csrf": token})
    assert r.status_code == 400


async def test_a_nul_in_a_form_is_a_400_and_changes_nothing(console: Console) -> None:
    sid = add_subscriber(console.engine, "reader@example.kr", ("politics",))
    c = console.client
    token = await signed_in(c, "admin")
    posts = [
        ("/admin/suppressions", {"email": "ok@example.kr", "reason": "x\x00y"}),
        ("/admin/digests/morning/hold", {"reason": "x\x00y"}),
        (f"/admin/subscribers/{sid}/choice", {"sections": "a\x00", "frequency": "daily"}),
    ]
    for path, data in posts:
        r = await c.post(path, data={**data, "csrf": token})
        assert r.status_code == 400, (path, r.status_code, r.text)
    assert audited(console.engine, "digest.hold") == []
    assert audited(console.engine, "suppression.add") == []
    found = _reader(console.engine)
    assert found is not None and found.sections == ("politics",)


async def test_a_section_choice_is_one_of_the_sites_sections(console: Console) -> None:
    sid = add_subscriber(console.engine, "reader@example.kr", ("politics",))
    c = console.client
    token = await signed_in(c, "admin")
    for sections in (["x" * 100], ["no-such-section"], ["economy", "x" * 65]):
        data = {"sections": sections, "frequency": "daily", "csrf": token}
        r = await c.post(f"/admin/subscribers/{sid}/choice", data=data)
        assert r.status_code == 400, (sections, r.status_code)
    r = await c.post(
        f"/admin/subscribers/{sid}/choice",
        data={"sections": ["economy"], "frequency": "daily", "csrf": token},
    )
    assert r.status_code == 303
    found = _reader(console.engine)
    assert found is not None and found.sections == ("economy",)


async def test_signing_in_with_a_nul_in_the_address_is_a_400(console: Console) -> None:
    c = console.new_client()
    page = await c.get("/admin/signin")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    r = await c.post("/admin/signin", data={"csrf": found.group(1), "email": "boss\x00@example.kr",
                                            "password": "x"})  # fmt: skip
    assert r.status_code == 400
    await c.aclose()


async def test_a_lone_surrogate_or_a_foreign_charset_in_a_form_is_a_400(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "admin")
    for path, field in (("/admin/suppressions", "reason"), ("/admin/digests/morning/hold",
                                                              "reason")):  # fmt: skip
        form = {"csrf": token, "email": "ok@example.kr", field: "x\\ud800"}
        parts = "".join(f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                        for k, v in form.items())  # fmt: skip
        body = (parts + "--B--\r\n").encode("ascii")
        for charset in ("unicode_escape", "utf-8"):
            media = f"multipart/form-data; boundary=B; charset={charset}"
            r = await c.post(path, headers={"Content-Type": media}, content=body)
            if charset == "utf-8":  # read as typed: a backslash, no surrogate
                assert r.status_code == 303, (path, r.status_code)
            else:
                assert r.status_code == 400, (path, r.status_code, r.text)
    assert [e for e in audited(console.engine, "suppression.add") if "\ud800" in str(e)] == []


async def test_a_csrf_token_or_session_cookie_with_non_ascii_text_is_refused(
    console: Console,
) -> None:
    # hmac.compare_digest raises TypeError on a non-ASCII str: these were 500s.
    c = console.new_client()
    page = await c.get("/admin/signin")
    assert re.search(r'name="csrf" value="([^"]+)"', page.text)
    for sent in ("%C3%A9", "%ED%95%9C"):  # é, 한
        r = await c.post("/admin/signin", content=f"csrf={sent}&email=a%40example.kr&password=x",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert r.status_code == 403, (sent, r.status_code)
    await c.aclose()
    c = console.client
    await signed_in(c, "admin")
    r = await c.post("/admin/digests/morning/hold", data={"csrf": "é", "reason": "x"})
    assert r.status_code == 403
    assert audited(console.engine, "digest.hold") == []
    stranger = console.new_client()
    cookie = "publisher_console=\xe9x.\xe9".encode("latin-1")  # a cookie is any Latin-1 text
    r = await stranger.get("/admin/", headers={b"Cookie": cookie})
    assert r.status_code == 303 and "/admin/signin" in r.headers["location"]
    await stranger.aclose()
