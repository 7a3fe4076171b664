"""Issue 11.6: letter case never splits one mailbox across limits, suppressions and lookups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from publisher.core import addresses, tokens
from publisher.messages import enqueue
from publisher.store.schema import subscribers
from tests.digestkit import add_subscriber
from tests.webkit import Web, link_in, message_of, outbox_rows, share_token, suppressed

pytestmark = pytest.mark.asyncio
SPELLINGS = ("Victim@example.kr", "victim@example.kr", "VICTIM@example.kr", "vIcTiM@EXAMPLE.KR")


async def test_canonical_folds_case_and_idn_forms() -> None:
    key = addresses.canonical
    assert key("Victim@Example.KR") == "victim@example.kr"
    assert key("USER@한국.KR") == key("user@xn--3e0b707e.kr") == "user@한국.kr"
    assert key(" not an address ") == "not an address"  # never raises


async def test_sixteen_signups_in_any_case_send_three_confirmations(web: Web) -> None:
    for i in range(16):
        r = await web.client.post(
            "/subscribe", data={"email": SPELLINGS[i % 4], "frequency": "daily"}
        )
        assert r.status_code == 200
    rows = outbox_rows(web.engine, "confirm")
    assert len(rows) == 3  # confirm_per_address_day, whatever the spelling
    with web.engine.connect() as conn:
        [who] = conn.execute(select(subscribers.c.email, subscribers.c.email_key)).all()
    assert who.email == "Victim@example.kr"  # as first typed: shown and mailed to
    assert who.email_key == "victim@example.kr"
    assert {r["recipient"] for r in rows} == {"Victim@example.kr"}


async def test_confirmed_reader_is_not_re_signed_up_in_another_case(web: Web) -> None:
    add_subscriber(web.engine, "minsu@example.kr", name="김민수")
    r = await web.client.post("/subscribe", data={"email": "MinSu@Example.kr", "name": "X"})
    assert r.status_code == 200
    assert outbox_rows(web.engine, "confirm") == []


def _deliverable(web: Web) -> list[str]:
    """What a drain would hand to the mailer now: claimed rows, suppressed ones set aside."""
    with web.engine.begin() as conn:
        claimed, _ = enqueue.claim(
            conn, owner="t", now=web.clock.now(), lease=timedelta(minutes=5), limit=100
        )
    return [c.recipient for c in claimed]


async def test_unsubscribed_mixed_case_reader_gets_no_share(web: Web) -> None:
    sid = add_subscriber(web.engine, "Mixed@example.kr")
    token = tokens.make(web.settings.secret_key, "unsubscribe", (sid,), now=web.clock.now())
    assert (await web.client.post(f"/u/{token}")).status_code == 200
    assert suppressed(web.engine, "mixed@example.kr") == [("all", "unsubscribed")]
    form = {"to": "mixed@example.kr", "name": "김민수", "note": "",
            "form_token": await share_token(web)}  # fmt: skip
    assert (await web.client.post("/articles/a0001/share", data=form)).status_code == 200
    assert "mixed@example.kr" not in _deliverable(web)
    [row] = outbox_rows(web.engine, "share")
    assert row["status"] == "suppressed"


async def test_share_block_and_recipient_limit_ignore_case(web: Web) -> None:
    async def share(to: str, article: str = "a0001") -> int:
        form = {"to": to, "name": "김민수", "note": "",
                "form_token": await share_token(web, article)}  # fmt: skip
        return (await web.client.post(f"/articles/{article}/share", data=form)).status_code

    assert [await share(s) for s in SPELLINGS[:3]] == [200, 200, 200]
    assert await share(SPELLINGS[3]) == 429  # share_per_recipient_day = 3, one mailbox
    web.clock.advance(timedelta(days=1))
    first = outbox_rows(web.engine, "share")[0]
    block = link_in(message_of(web.engine, first), "share-block")
    assert (await web.client.post(block)).status_code == 200
    assert await share("VICTIM@example.kr", "a0002") == 200  # the same answer …
    assert len(outbox_rows(web.engine, "share")) == 3  # … and nothing more is queued
