"""Issues 11.13 and 11.14: a confirmation token confirms its one request, once; the subscribe
answer is the same bytes for every address, and the per-address work happens after it."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from publisher.core import tokens
from publisher.store.schema import subscribers, subscriptions
from publisher.web.app import create_app
from tests.digestkit import add_subscriber
from tests.webkit import Web, link_in, message_of, outbox_rows, subscriber_status

pytestmark = pytest.mark.asyncio
READER = {"email": "reader@example.kr", "name": "김독자", "sections": ["politics"],
          "frequency": "daily"}  # fmt: skip
STRANGER = {"email": "reader@example.kr", "name": "Stranger", "sections": ["world"],
            "frequency": "weekly"}  # fmt: skip


def record(web: Web, email: str) -> tuple[str, str, list[str]]:
    with web.engine.connect() as conn:
        who = conn.execute(select(subscribers).where(subscribers.c.email == email)).one()
        chosen = conn.execute(
            select(subscriptions.c.section).where(subscriptions.c.subscriber_id == who.id)
        ).scalars()
        return who.name, who.frequency, sorted(chosen)


def confirm_path(web: Web, n: int) -> str:
    return link_in(message_of(web.engine, outbox_rows(web.engine, "confirm")[n]), "confirm")


async def test_used_token_does_not_confirm_a_strangers_later_request(web: Web) -> None:
    await web.client.post("/subscribe", data=READER)
    first = confirm_path(web, 0)
    assert (await web.client.post(first)).status_code == 200
    assert (await web.client.post("/u/" + _unsub_token(web))).status_code == 200
    assert subscriber_status(web.engine, "reader@example.kr") == "unsubscribed"

    await web.client.post("/subscribe", data=STRANGER)  # a stranger signs the address up
    assert subscriber_status(web.engine, "reader@example.kr") == "unsubscribed"
    assert record(web, "reader@example.kr") == ("김독자", "daily", ["politics"])  # untouched

    replay = await web.client.post(first)  # the reader's old, used link
    assert replay.status_code == 409 and "구독이 확인되었습니다" not in replay.text
    assert subscriber_status(web.engine, "reader@example.kr") == "unsubscribed"
    assert record(web, "reader@example.kr") == ("김독자", "daily", ["politics"])

    legacy = tokens.make(web.settings.secret_key, "confirm", (_sid(web),), now=web.clock.now())
    assert (await web.client.post(f"/confirm/{legacy}")).status_code == 409  # id-only token

    second = confirm_path(web, 1)  # only the mailbox's owner has this one
    assert (await web.client.post(second)).status_code == 200
    assert subscriber_status(web.engine, "reader@example.kr") == "confirmed"
    assert record(web, "reader@example.kr") == ("Stranger", "weekly", ["world"])
    assert (await web.client.post(second)).status_code == 409  # once


async def test_a_newer_request_replaces_the_older_one(web: Web) -> None:
    await web.client.post("/subscribe", data=READER)
    await web.client.post("/subscribe", data={**READER, "frequency": "weekly"})
    older, newer = confirm_path(web, 0), confirm_path(web, 1)
    assert (await web.client.post(older)).status_code == 409
    assert subscriber_status(web.engine, "reader@example.kr") == "pending"
    assert (await web.client.post(newer)).status_code == 200
    assert record(web, "reader@example.kr")[1] == "weekly"


def _sid(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(
            conn.execute(
                select(subscribers.c.id).where(subscribers.c.email == "reader@example.kr")
            ).scalar_one()
        )


def _unsub_token(web: Web) -> str:
    return tokens.make(web.settings.secret_key, "unsubscribe", (_sid(web),), now=web.clock.now())


async def _post_raw(web: Web, form: dict[str, Any]) -> tuple[int, bytes, dict[str, str], int]:
    """POST /subscribe straight through ASGI; also counts the confirmation rows queued at the
    moment the last body byte is handed to the server (what the client sees, and when)."""
    body = urlencode(form, doseq=True).encode()
    sent: list[MutableMapping[str, Any]] = []
    queued_at_answer = -1

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal queued_at_answer
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            queued_at_answer = len(outbox_rows(web.engine, "confirm"))

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/subscribe", "raw_path": b"/subscribe", "query_string": b"",
        "root_path": "", "client": ("203.0.113.7", 50000), "server": ("test", 80),
        "headers": [(b"host", b"test"), (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    await create_app(web.settings, context=web.ctx)(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], content, headers, queued_at_answer


async def test_same_answer_for_new_confirmed_and_capped_addresses(web: Web) -> None:
    add_subscriber(web.engine, "known@example.kr", name="Known")
    for _ in range(3):  # use up capped@'s confirmations for today
        await web.client.post("/subscribe", data={**READER, "email": "capped@example.kr"})
    before = len(outbox_rows(web.engine, "confirm"))
    answers = []
    for email in ("new@example.kr", "known@example.kr", "capped@example.kr"):
        queued_before = len(outbox_rows(web.engine, "confirm"))
        status, content, headers, queued = await _post_raw(web, {**READER, "email": email})
        answers.append((status, content, headers.get("content-type"), headers.get("cache-control"),
                        headers.get("content-length")))  # fmt: skip
        assert queued == queued_before  # answered before the per-address work ran
    assert len(set(answers)) == 1 and answers[0][0] == 200
    recipients = [r["recipient"] for r in outbox_rows(web.engine, "confirm")[before:]]
    assert recipients == ["new@example.kr"]  # the work still happened, after the answer
