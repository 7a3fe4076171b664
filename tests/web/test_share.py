""" "Send this article by email": the abuse controls of the issue, one by one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from publisher.store.schema import share_log
from tests.webkit import Web, form_token, link_in, message_of, outbox_rows, share_token, suppressed

pytestmark = pytest.mark.asyncio


def fields(token: str, **extra: Any) -> dict[str, Any]:
    return {"to": "friend@example.kr", "name": "김민수", "note": "이 기사 읽어 보세요.",
            "form_token": token, **extra}  # fmt: skip


async def test_share_enqueues_one_message_with_escaped_note(web: Web) -> None:
    token = await share_token(web)
    r = await web.client.post(
        "/articles/a0001/share", data=fields(token, note="A & B\n두 번째 줄 <3")
    )
    assert r.status_code == 200 and "메일을 보냈습니다" in r.text
    [row] = outbox_rows(web.engine, "share")
    assert row["recipient"] == "friend@example.kr"
    msg = message_of(web.engine, row)
    assert "김민수님이 한빛일보의 기사를 공유했습니다" in msg
    assert "A &amp; B<br>" in msg and "&lt;3" in msg  # HTML part: escaped
    assert "  A & B\r\n  두 번째 줄 <3" in msg  # text part: plain
    assert "%%" not in msg and "https://news.example.kr/article/1" in msg
    with web.engine.connect() as conn:
        [log] = conn.execute(select(share_log)).all()
    assert log.ip_hash and "203.0.113.7" not in log.ip_hash and log.article_id == "a0001"


async def test_recipient_can_block_future_shares(web: Web) -> None:
    token = await share_token(web)
    await web.client.post("/articles/a0001/share", data=fields(token))
    path = link_in(message_of(web.engine, outbox_rows(web.engine, "share")[0]), "share-block")
    assert (await web.client.get(path)).status_code == 200
    assert suppressed(web.engine, "friend@example.kr") == []  # a GET changes nothing
    assert (await web.client.post(path)).status_code == 200
    assert suppressed(web.engine, "friend@example.kr") == [("share", "share_block")]
    r = await web.client.post("/articles/a0002/share", data=fields(await share_token(web, "a0002")))
    assert r.status_code == 200  # the same answer, but nothing more is sent
    assert len(outbox_rows(web.engine, "share")) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "friend@example.kr\r\nBcc: many@example.kr"),
        ("to", "friend@example.kr%0d%0aBcc: many@example.kr"),
        ("to", "friend@example.kr, other@example.kr"),
        ("to", "friend@example.kr;other@example.kr"),
        ("to", "Friend <friend@example.kr>"),
        ("to", "friend@example.kr other@example.kr"),
        ("to", "a@b@example.kr"),
        ("name", "Kim\r\nBcc: many@example.kr"),
        ("name", "Kim%0D%0ABcc: x"),
        ("name", "Kim\nJ"),
        ("name", "www.cheap-pills.example"),
        ("name", "https://spam.example/x"),
        ("name", "x" * 51),
        ("name", ""),
        ("note", "<script>alert(1)</script>"),
        ("note", "see https://spam.example/"),
        ("note", "see www.spam.example"),
        ("note", "buy at cheap-pills.com now"),
        ("note", '<a href="x">click</a>'),
        ("note", "가" * 301),
        ("note", "evil.pw"),
        ("note", "ｗｗｗ．ｅｖｉｌ．ｃｏｍ"),
        ("note", "evil . com"),
        ("note", "see 203.0.113.9"),
        ("note", "javascript:alert(1)"),
        ("name", "evil.pw"),
        ("name", "ｅｖｉｌ．ｃｏｍ"),
    ],
)
async def test_abuse_shapes_are_400_and_nothing_enqueued(web: Web, field: str, value: str) -> None:
    token = await share_token(web)
    r = await web.client.post("/articles/a0001/share", data=fields(token, **{field: value}))
    assert r.status_code == 400
    assert f'id="{field}"' in r.text and 'aria-invalid="true"' in r.text
    assert outbox_rows(web.engine) == []


async def test_embedded_form_posts_from_our_origin(web: Web) -> None:
    r = await web.client.get("/articles/a0001/share")
    assert r.headers["referrer-policy"] == "same-origin"  # else browsers send "Origin: null"
    web.clock.advance(timedelta(seconds=5))
    ours = {"Origin": "https://news.example.kr"}
    sent = await web.client.post(
        "/articles/a0001/share", data=fields(form_token(r.text)), headers=ours
    )
    assert sent.status_code == 200 and len(outbox_rows(web.engine, "share")) == 1
    null = await web.client.post("/articles/a0001/share", data=fields(form_token(r.text)),
                                 headers={"Origin": "null"})  # fmt: skip
    assert null.status_code == 403  # web/guards.py: SameOrigin, before the form is read


async def test_token_pages_do_not_leak_the_token(web: Web) -> None:
    r = await web.client.get("/subscribe")
    assert (
        r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "same-origin"
    )


async def test_form_token_honeypot_and_minimum_time(web: Web) -> None:
    r = await web.client.get("/articles/a0001/share")
    token = form_token(r.text)
    fast = await web.client.post("/articles/a0001/share", data=fields(token))
    assert fast.status_code == 400  # submitted at once: a script, not a reader
    web.clock.advance(timedelta(seconds=5))
    for bad in ("", "forged", token[:-3] + "abc"):
        r = await web.client.post("/articles/a0001/share", data=fields(bad))
        assert r.status_code == 400
    trap = await web.client.post("/articles/a0001/share", data=fields(token, website="x"))
    assert trap.status_code == 200  # looks sent; nothing is
    foreign = await web.client.post(
        "/articles/a0001/share", data=fields(token), headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403  # web/guards.py: SameOrigin
    assert outbox_rows(web.engine) == []
    web.clock.advance(timedelta(hours=3))
    stale = await web.client.post("/articles/a0001/share", data=fields(token))
    assert stale.status_code == 400 and outbox_rows(web.engine) == []


async def test_sixth_share_from_one_ip_is_429(web: Web) -> None:
    for i in range(5):
        r = await web.client.post(
            "/articles/a0001/share", data=fields(await share_token(web), to=f"f{i}@example.kr")
        )
        assert r.status_code == 200
    token = await share_token(web)
    r = await web.client.post("/articles/a0001/share", data=fields(token, to="f9@example.kr"))
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert len(outbox_rows(web.engine, "share")) == 5
    web.clock.advance(timedelta(hours=1))
    r = await web.client.post("/articles/a0001/share", data=fields(token, to="f9@example.kr"))
    assert r.status_code == 200  # the hour has passed; the refused try did not use the form


async def test_fourth_share_to_one_recipient_is_429_with_the_same_page(web: Web) -> None:
    async def share(to: str = "friend@example.kr") -> Any:
        return await web.client.post(
            "/articles/a0001/share", data=fields(await share_token(web), to=to)
        )

    for _ in range(3):
        assert (await share()).status_code == 200
    r4 = await share()
    assert r4.status_code == 429  # 4 from this IP is within its 5: the recipient limit fired
    other = await share("x@example.kr")
    assert other.status_code == 200  # the refused try did not use up the IP's allowance
    y = await share("y@example.kr")
    assert y.status_code == 200 and len(outbox_rows(web.engine, "share")) == 5
    ip_limit = await share("z@example.kr")
    assert ip_limit.status_code == 429 and ip_limit.text == r4.text  # which limit: not said


async def test_only_published_articles(web: Web) -> None:
    with web.engine.begin() as conn:
        from publisher.store.articles import set_status

        set_status(conn, "a0003", "retracted", now=web.clock.now())
    assert (await web.client.get("/articles/a0003/share")).status_code == 404
    assert (await web.client.get("/articles/nope/share")).status_code == 404
    token = await share_token(web)
    r = await web.client.post("/articles/a0003/share", data=fields(token))
    assert r.status_code == 404 and outbox_rows(web.engine) == []


async def test_a_form_sends_once_and_only_for_its_article(web: Web) -> None:
    token = await share_token(web)
    first = await web.client.post("/articles/a0001/share", data=fields(token))
    assert first.status_code == 200
    for _ in range(4):  # a replay, or a double click
        again = await web.client.post("/articles/a0001/share", data=fields(token))
        assert again.status_code == 409
        assert "이미 보냈습니다" in again.text
        assert form_token(again.text) != token  # a fresh form, to send again on purpose
    assert len(outbox_rows(web.engine, "share")) == 1
    other = await web.client.post(
        "/articles/a0002/share", data=fields(await share_token(web, "a0002"))
    )
    assert other.status_code == 200
    moved = await web.client.post(
        "/articles/a0002/share", data=fields(await share_token(web, "a0001"))
    )
    assert moved.status_code == 400 and "양식이 만료되었습니다" in moved.text
    assert len(outbox_rows(web.engine, "share")) == 2
    fresh = await web.client.post("/articles/a0001/share", data=fields(form_token(again.text)))
    assert fresh.status_code == 200  # the form shown with the 409 works once
    assert len(outbox_rows(web.engine, "share")) == 3
