"""Double opt-in, confirm and unsubscribe pages over the real ASGI app and store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.core import tokens
from tests.digestkit import add_subscriber
from tests.webkit import Web, link_in, message_of, outbox_rows, subscriber_status, suppressed

pytestmark = pytest.mark.asyncio
FORM = {"email": "reader@example.kr", "name": "김독자", "sections": ["politics", "economy"],
        "frequency": "daily"}  # fmt: skip


async def test_subscribe_page_offers_sections_and_frequencies(web: Web) -> None:
    r = await web.client.get("/subscribe")
    assert r.status_code == 200
    assert 'lang="ko"' in r.text and "뉴스레터 구독" in r.text
    assert 'value="politics"' in r.text and "정치" in r.text
    assert 'value="daily"' in r.text and 'value="weekly"' in r.text
    assert "<script" not in r.text
    en = await web.client.get("/subscribe?lang=en")
    assert 'lang="en"' in en.text and "Subscribe" in en.text


async def test_subscribe_then_confirm_by_post_only(web: Web) -> None:
    r = await web.client.post("/subscribe", data=FORM)
    assert r.status_code == 200 and "메일함을 확인해 주세요" in r.text
    assert subscriber_status(web.engine, "reader@example.kr") == "pending"
    [row] = outbox_rows(web.engine, "confirm")
    assert row["recipient"] == "reader@example.kr"
    path = link_in(message_of(web.engine, row), "confirm")
    page = await web.client.get(path)  # a link scanner's GET
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert subscriber_status(web.engine, "reader@example.kr") == "pending"
    done = await web.client.post(path)
    assert done.status_code == 200 and "구독이 확인되었습니다" in done.text
    assert subscriber_status(web.engine, "reader@example.kr") == "confirmed"
    again = await web.client.post(path)  # a used token is harmless, and says so
    assert again.status_code == 409 and "이미 사용한 확인 링크입니다" in again.text
    assert subscriber_status(web.engine, "reader@example.kr") == "confirmed"


async def test_same_answer_for_new_pending_confirmed_unsubscribed(web: Web) -> None:
    add_subscriber(web.engine, "known@example.kr", name="Known")
    add_subscriber(web.engine, "gone@example.kr", status="pending")
    answers = []
    for email in ("new@example.kr", "known@example.kr", "gone@example.kr"):
        r = await web.client.post("/subscribe", data={**FORM, "email": email})
        answers.append((r.status_code, r.text))
    assert len(set(answers)) == 1
    recipients = [r["recipient"] for r in outbox_rows(web.engine, "confirm")]
    assert recipients == ["new@example.kr", "gone@example.kr"]  # a confirmed reader gets none


async def test_confirmation_emails_capped_per_address_per_day(web: Web) -> None:
    for _ in range(5):
        r = await web.client.post("/subscribe", data=FORM)
        assert r.status_code == 200
    assert len(outbox_rows(web.engine, "confirm")) == 3
    web.clock.advance(timedelta(days=1))
    await web.client.post("/subscribe", data=FORM)
    assert len(outbox_rows(web.engine, "confirm")) == 4


async def test_one_client_cannot_sign_up_strangers_in_bulk(web: Web) -> None:
    codes = []
    for i in range(21):
        r = await web.client.post("/subscribe", data={**FORM, "email": f"s{i}@example.kr"})
        codes.append(r.status_code)
    assert codes == [200] * 20 + [429]
    assert len(outbox_rows(web.engine, "confirm")) == 20
    assert subscriber_status(web.engine, "s20@example.kr") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "a@x.org\r\nBcc: victim@y.org"),
        ("email", "a@x.org%0d%0aBcc: victim@y.org"),
        ("email", "a@x.org, b@y.org"),
        ("email", "a@x.org;b@y.org"),
        ("email", "Friend <a@x.org>"),
        ("email", "a@x.org b@y.org"),
        ("name", "Kim\r\nBcc: victim@y.org"),
        ("name", "Kim%0d%0aBcc: x"),
        ("name", "visit https://spam.example"),
    ],
)
async def test_bad_input_is_400_and_nothing_enqueued(web: Web, field: str, value: str) -> None:
    r = await web.client.post("/subscribe", data={**FORM, field: value})
    assert r.status_code == 400
    assert outbox_rows(web.engine) == []
    assert subscriber_status(web.engine, "a@x.org") is None


async def test_unknown_section_refused(web: Web) -> None:
    r = await web.client.post("/subscribe", data={**FORM, "sections": ["nope"]})
    assert r.status_code == 400 and outbox_rows(web.engine) == []


async def test_one_click_unsubscribe_without_cookies(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr")
    token = tokens.make(web.settings.secret_key, "unsubscribe", (sid,), now=web.clock.now())
    web.clock.advance(timedelta(days=61))  # an old digest's footer still works
    web.client.cookies.clear()
    r = await web.client.get(f"/u/{token}")
    assert r.status_code == 200 and subscriber_status(web.engine, "minsu@example.kr") == "confirmed"
    for body in ({"data": {"List-Unsubscribe": "One-Click"}},
                 {"files": {"List-Unsubscribe": (None, "One-Click")}}):  # fmt: skip
        r = await web.client.post(f"/u/{token}", **body)
        assert r.status_code == 200 and "location" not in r.headers
        assert "set-cookie" not in r.headers
    assert subscriber_status(web.engine, "minsu@example.kr") == "unsubscribed"
    assert ("all", "unsubscribed") in suppressed(web.engine, "minsu@example.kr")


async def test_bad_tokens_rejected(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", status="pending")
    now = web.clock.now()
    good = tokens.make(web.settings.secret_key, "confirm", (sid,), now=now)
    wrong_purpose = tokens.make(web.settings.secret_key, "unsubscribe", (sid,), now=now)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    forged = tokens.make("another-secret-key-xyz", "confirm", (sid,), now=now)
    for token in (tampered, wrong_purpose, forged, "garbage"):
        assert (await web.client.post(f"/confirm/{token}")).status_code == 400
        assert (await web.client.get(f"/confirm/{token}")).status_code == 400
    unsub_wrong = tokens.make(web.settings.secret_key, "confirm", (sid,), now=now)
    assert (await web.client.post(f"/u/{unsub_wrong}")).status_code == 400
    web.clock.advance(timedelta(days=8))
    assert (await web.client.post(f"/confirm/{good}")).status_code == 400  # expired
    assert subscriber_status(web.engine, "minsu@example.kr") == "pending"
