"""Subscribers, digests, outbox and articles pages as an operator uses them."""

from __future__ import annotations

import pytest

from publisher.digests import pipeline
from tests.console.consolekit import Console, signed_in
from tests.digestkit import add_subscriber, schedules

pytestmark = pytest.mark.asyncio


async def test_search_by_address_prefix_any_case_or_by_name(console: Console) -> None:
    add_subscriber(console.engine, "Kim.Minji@Example.org", name="김민지")
    add_subscriber(console.engine, "kimchi@example.org", name="Lee")
    add_subscriber(console.engine, "park@example.org", name="박서준")
    c = console.client
    await signed_in(c, "viewer")
    found = (await c.get("/admin/subscribers", params={"q": "KIM"})).text
    assert "Kim.Minji@Example.org" in found and "kimchi@example.org" in found
    assert "park@example.org" not in found
    assert "park@example.org" in (await c.get("/admin/subscribers", params={"q": "박서"})).text
    none = (await c.get("/admin/subscribers", params={"q": "zzz"})).text
    assert "결과 없음" in none


async def test_reader_page_lists_todays_digest_with_its_outcome(console: Console) -> None:
    sid = add_subscriber(console.engine, "reader@example.org", ("politics",))
    result = pipeline.run_digest(console.engine, console.settings, schedules(), "morning",
                                 now=console.clock.now())  # fmt: skip
    assert result.enqueued >= 1
    c = console.client
    await signed_in(c, "viewer")
    page = (await c.get(f"/admin/subscribers/{sid}")).text
    assert f"morning #{result.run_id}" in page and "queued" in page
    assert "politics" in page


async def test_admin_deletes_a_reader_only_after_typing_the_address(console: Console) -> None:
    sid = add_subscriber(console.engine, "gone@example.org")
    c = console.client
    token = await signed_in(c, "admin")
    page = await c.get(f"/admin/subscribers/{sid}/delete")
    assert page.status_code == 200
    wrong = await c.post(f"/admin/subscribers/{sid}/delete", data={"csrf": token, "confirm": "x"})
    assert wrong.status_code == 400
    assert (await c.get(f"/admin/subscribers/{sid}")).status_code == 200
    ok = await c.post(f"/admin/subscribers/{sid}/delete",
                      data={"csrf": token, "confirm": "gone@example.org"})  # fmt: skip
    assert ok.status_code == 303
    assert (await c.get(f"/admin/subscribers/{sid}")).status_code == 404
    assert "gone@example.org" in (await c.get("/admin/suppressions?q=gone")).text


async def test_admin_changes_choice_and_unsubscribes(console: Console) -> None:
    sid = add_subscriber(console.engine, "choice@example.org", ("politics",))
    c = console.client
    token = await signed_in(c, "admin")
    await c.post(
        f"/admin/subscribers/{sid}/choice",
        data={"csrf": token, "sections": ["economy", "world"], "frequency": "weekly"},
    )
    page = (await c.get(f"/admin/subscribers/{sid}")).text
    assert "economy, world" in page and "weekly" in page
    await c.post(f"/admin/subscribers/{sid}/unsubscribe", data={"csrf": token})
    assert 'id="status">unsubscribed' in (await c.get(f"/admin/subscribers/{sid}")).text
    bad = await c.post(f"/admin/subscribers/{sid}/choice",
                       data={"csrf": token, "frequency": "hourly"})  # fmt: skip
    assert bad.status_code == 400


async def test_preview_for_a_section_choice_is_sandboxed(console: Console) -> None:
    c = console.client
    await signed_in(c, "editor")
    page = (await c.get("/admin/digests/morning?sections=economy")).text
    assert page.count('sandbox=""') == 2 and 'class="phone"' in page
    r = await c.get("/admin/digests/morning/preview.html?sections=economy")
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("sandbox")
    assert "경제" in r.text and "정치" not in r.text.split("많이 본")[0]


async def test_send_now_enqueues_a_manual_run(console: Console) -> None:
    add_subscriber(console.engine, "now@example.org")
    c = console.client
    token = await signed_in(c, "editor")
    r = await c.post("/admin/digests/morning/send", data={"csrf": token})
    assert r.status_code == 303 and "enqueued" in r.headers["location"]
    history = (await c.get("/admin/digests/morning")).text
    assert "enqueued" in history


async def test_outbox_filters_and_articles_retract(console: Console) -> None:
    add_subscriber(console.engine, "o@example.org")
    pipeline.run_digest(console.engine, console.settings, schedules(), "morning",
                        now=console.clock.now())  # fmt: skip
    c = console.client
    token = await signed_in(c, "admin")
    assert "o@example.org" in (await c.get("/admin/outbox?status=queued&domain=example.org")).text
    assert "o@example.org" not in (await c.get("/admin/outbox?domain=other.org")).text
    arts = (await c.get("/admin/articles")).text
    assert "morning #" in arts
    await c.post("/admin/articles/a0001/retract", data={"csrf": token})
    assert "되살리기" in (await c.get("/admin/articles")).text
    assert (await c.post("/admin/articles/nope/retract", data={"csrf": token})).status_code == 404


async def test_english_on_request_korean_by_default(console: Console) -> None:
    c = console.client
    await signed_in(c, "viewer")
    assert "대시보드" in (await c.get("/admin/")).text
    assert "Dashboard" in (await c.get("/admin/?lang=en")).text
    assert "Dashboard" in (await c.get("/admin/")).text  # remembered


async def test_admin_resends_a_confirmation_to_a_pending_reader(console: Console) -> None:
    from tests.webkit import outbox_rows

    sid = add_subscriber(console.engine, "wait@example.org", status="pending")
    c = console.client
    token = await signed_in(c, "admin")
    r = await c.post(f"/admin/subscribers/{sid}/confirm", data={"csrf": token})
    assert r.status_code == 303 and "asked%201" in r.headers["location"]
    assert [row["recipient"] for row in outbox_rows(console.engine, "confirm")] == [
        "wait@example.org"
    ]
