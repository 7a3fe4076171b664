"""Issue 12 (reader side): a deleted reader's links never act on whoever gets her id next; a
sign-up costs the same writes for every address; deleting one's data does not lock the
mailbox out; a stranger's name never reaches an existing reader's To: header."""

from __future__ import annotations

import email
from datetime import timedelta
from email.message import Message
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select

from publisher.core import tokens
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from publisher.digests import pipeline
from publisher.readers import signup
from publisher.store import suppressions
from publisher.store.schema import rate_counters, subscribers
from tests.digestkit import add_subscriber, schedules
from tests.smtpserver import SmtpServer
from tests.webkit import Web, link_in, message_of, outbox_rows, subscriber_status, suppressed

pytestmark = pytest.mark.asyncio
CAROL = {"email": "carol@example.kr", "name": "Carol", "sections": ["politics"],
         "frequency": "daily"}  # fmt: skip
DAVE = {"email": "dave@example.kr", "name": "Dave", "sections": ["world"], "frequency": "weekly"}
BAD_LINK = "링크를 사용할 수 없습니다"


def _id_of(web: Web, email_address: str) -> int:
    with web.engine.connect() as conn:
        found = conn.execute(
            select(subscribers.c.id).where(subscribers.c.email == email_address)
        ).scalar_one()
    return int(found)


def _mail_to(web: Web, recipient: str, kind: str = "confirm") -> str:
    [row] = [r for r in outbox_rows(web.engine, kind) if r["recipient"] == recipient]
    return message_of(web.engine, row)


async def test_a_deleted_readers_links_do_nothing_to_the_next_reader_with_her_id(
    web: Web,
) -> None:
    await web.client.post("/subscribe", data=CAROL)
    carol_confirm = link_in(_mail_to(web, "carol@example.kr"), "confirm")
    assert (await web.client.post(carol_confirm)).status_code == 200
    run = pipeline.run_digest(web.engine, web.settings, schedules(), "morning", now=web.clock.now())
    assert run.run_id is not None
    digest = _mail_to(web, "carol@example.kr", "digest")  # her links, as a digest brings them
    prefs, unsub = link_in(digest, "preferences"), link_in(digest, "u")
    carol_id = _id_of(web, "carol@example.kr")
    web.clock.advance(timedelta(minutes=5))
    assert (await web.client.post(f"{prefs}/delete", data={"confirm": "yes"})).status_code == 200

    web.clock.advance(timedelta(minutes=5))
    await web.client.post("/subscribe", data=DAVE)
    assert _id_of(web, "dave@example.kr") == carol_id  # SQLite reuses the freed id
    dave_mail = _mail_to(web, "dave@example.kr")  # queued, not dropped as a duplicate

    web.clock.advance(timedelta(minutes=1))
    answers = [
        await web.client.get(prefs),
        await web.client.post(prefs, data={"action": "export"}),
        await web.client.post(prefs, data={"sections": ["economy"], "frequency": "daily"}),
        await web.client.post(prefs, data={"action": "unsubscribe"}),
        await web.client.get(f"{prefs}/delete"),
        await web.client.post(f"{prefs}/delete", data={"confirm": "yes"}),
        await web.client.get(unsub),
        await web.client.post(unsub, data={"List-Unsubscribe": "One-Click"}),
        await web.client.get(carol_confirm),
        await web.client.post(carol_confirm),
    ]
    assert [r.status_code for r in answers] == [400] * len(answers)
    assert all(BAD_LINK in r.text and "dave@" not in r.text for r in answers)
    assert subscriber_status(web.engine, "dave@example.kr") == "pending"
    assert suppressed(web.engine, "dave@example.kr") == []

    assert (await web.client.post(link_in(dave_mail, "confirm"))).status_code == 200
    assert subscriber_status(web.engine, "dave@example.kr") == "confirmed"
    fresh = tokens.make(web.settings.secret_key, "preferences", (carol_id,), now=web.clock.now())
    page = await web.client.get(f"/preferences/{fresh}")  # Dave's own links work
    assert page.status_code == 200 and "dave@example.kr" in page.text


async def test_every_address_costs_the_same_writes_and_one_rendering(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = web.ctx.renderer("ko")
    renders: list[str] = []
    original = renderer.confirm

    def counting(**kw: Any) -> Any:
        renders.append(kw["confirm_url"])
        return original(**kw)

    monkeypatch.setattr(renderer, "confirm", counting)
    add_subscriber(web.engine, "known@example.kr", name="Known")
    add_subscriber(web.engine, "waiting@example.kr", status="pending")
    add_subscriber(web.engine, "gone@example.kr", status="unsubscribed")
    for _ in range(3):  # use up capped@'s confirmations for today
        await web.client.post("/subscribe", data={**CAROL, "email": "capped@example.kr"})
    before = len(outbox_rows(web.engine, "confirm"))
    addresses = ("new@example.kr", "waiting@example.kr", "gone@example.kr",
                 "known@example.kr", "capped@example.kr")  # fmt: skip
    answers, sent_at = [], {}
    for address in addresses:
        web.clock.advance(timedelta(minutes=7))
        sent_at[address] = format_datetime(web.clock.now())
        r = await web.client.post("/subscribe", data={**CAROL, "email": address})
        answers.append((r.status_code, r.text, r.headers.get("content-length")))
    assert len(set(answers)) == 1 and answers[0][0] == 200
    assert len(renders) == 1  # once for the language, never per address

    queued = outbox_rows(web.engine, "confirm")[before:]
    assert [r["recipient"] for r in queued] == list(addresses[:3])  # the work still happens
    links = set()
    for row in queued:
        msg = email.message_from_string(message_of(web.engine, row))
        assert msg["Date"] == sent_at[row["recipient"]]  # the request's own time
        assert "%%" not in message_of(web.engine, row)
        links.add(link_in(message_of(web.engine, row), "confirm"))
    assert len(links) == 3
    with web.engine.connect() as conn:  # a confirmed address's request is counted too
        counted = conn.execute(
            select(rate_counters.c.count).where(
                rate_counters.c.key == signup.address_key("confirm:", "known@example.kr")
            )
        ).scalar()
    assert counted == 1
    for link in links:
        assert (await web.client.post(link)).status_code == 200


async def _drain(web: Web, server: SmtpServer) -> None:
    mailer = Mailer(server.url, pool_size=1, connect_timeout=5, command_timeout=5, data_timeout=10)
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=1, mark_batch=10, breaker_threshold=5,
        grace=timedelta(seconds=5),
    )  # fmt: skip
    report = await Drain(web.engine, mailer, web.clock, config=config).run()
    assert report.ok, report


def _text(data: bytes) -> str:
    for part in email.message_from_bytes(data).walk():
        if isinstance(part, Message) and part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("no text part")


async def test_a_reader_who_deleted_their_data_can_subscribe_again(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", ("politics",))
    prefs = tokens.make(web.settings.secret_key, "preferences", (sid,), now=web.clock.now())
    done = await web.client.post(f"/preferences/{prefs}/delete", data={"confirm": "yes"})
    assert done.status_code == 200 and suppressed(web.engine, "minsu@example.kr") == [
        ("all", "deleted")
    ]
    with web.engine.begin() as conn:  # a bounced address stays stopped, confirmations too
        suppressions.add(conn, ["bounced@example.kr"], reason="hard_bounce", now=web.clock.now())
    web.clock.advance(timedelta(minutes=10))
    for address in ("minsu@example.kr", "bounced@example.kr"):
        await web.client.post("/subscribe", data={"email": address, "frequency": "daily"})

    server = await SmtpServer().start()
    try:
        await _drain(web, server)
    finally:
        await server.stop()
    assert server.record.recipients() == {"minsu@example.kr": 1}  # the mail arrives
    statuses = {r["recipient"]: r["status"] for r in outbox_rows(web.engine, "confirm")}
    assert statuses == {"minsu@example.kr": "sent", "bounced@example.kr": "suppressed"}

    [(_rcpt, data)] = server.record.messages
    path = link_in(_text(data), "confirm")
    assert (await web.client.post(path)).status_code == 200
    assert subscriber_status(web.engine, "minsu@example.kr") == "confirmed"
    assert suppressed(web.engine, "minsu@example.kr") == []  # confirming lifted "deleted"
    assert suppressed(web.engine, "bounced@example.kr") == [("all", "hard_bounce")]


async def test_a_strangers_name_never_reaches_an_existing_readers_mail(web: Web) -> None:
    add_subscriber(web.engine, "reader1@x.kr", name="Reader One", status="unsubscribed")
    add_subscriber(web.engine, "reader2@x.kr", status="pending")  # no name stored
    for address in ("READER1@X.KR", "reader2@x.kr"):
        r = await web.client.post(
            "/subscribe", data={"email": address, "name": "Evil Stranger", "frequency": "daily"}
        )
        assert r.status_code == 200
    one, two = (
        email.message_from_string(_mail_to(web, a)) for a in ("reader1@x.kr", "reader2@x.kr")
    )
    assert one["To"] == "Reader One <reader1@x.kr>"
    assert two["To"] == "reader2@x.kr"
    for msg in (one, two):
        assert "Evil" not in msg.as_string()
    # Held, and applied only when the mailbox itself confirms.
    with web.engine.connect() as conn:
        rows = conn.execute(select(subscribers.c.email, subscribers.c.name))
        names = {email: name for email, name in rows}
    assert names["reader1@x.kr"] == "Reader One" and names["reader2@x.kr"] == ""
