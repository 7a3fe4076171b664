"""What no store can hold (a NUL: PostgreSQL refuses it; a lone surrogate, JSON's "\\ud800":
it has no UTF-8 form) in a sending service's webhook, on both stores. An event is treated as
mail is (test_nul_bytes.py): an address holding one is nobody's and is dropped, the event is
still recorded, and the request is answered as any other. Before, a lone surrogate in an
event's id or address was a 500 (and the service retried the whole batch, again and again),
one in an SNS field a 500 from anyone, before the signature was checked, and a signed Mailgun
token holding either a 500 on PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, select

from publisher.core.config import Settings
from publisher.store.inboundschema import inbound_messages, webhook_tokens
from tests.digestkit import NOW
from tests.inbound.hookkit import MAILGUN_KEY, POSTMARK, Hooks, open_hooks
from tests.inbound.inboundkit import suppressed
from tests.inbound.signkit import mailgun_body, ses_notification

pytestmark = pytest.mark.asyncio
UNSTORABLE = pytest.mark.parametrize("bad", ["\u0000", "\ud800"], ids=["nul", "surrogate"])
STAMP = int(NOW.timestamp())
Request = tuple[str, bytes, dict[str, str]]


@pytest_asyncio.fixture
async def hooks(any_engine: Engine, settings: Settings, tmp_path: Path) -> AsyncIterator[Hooks]:
    async for h in open_hooks(any_engine, settings, tmp_path):
        yield h


def _sendgrid(h: Hooks, address: str, event_id: str) -> Request:
    body = json.dumps([{"email": address, "event": "bounce", "type": "bounce",
                        "sg_event_id": event_id}]).encode()  # fmt: skip
    return "/hooks/sendgrid", body, h.sendgrid.headers(body, STAMP)


def _postmark(_h: Hooks, address: str, event_id: str) -> Request:
    body = json.dumps({"RecordType": "Bounce", "ID": event_id, "Type": "HardBounce",
                       "Email": address, "BouncedAt": NOW.isoformat()}).encode()  # fmt: skip
    return "/hooks/postmark", body, {"Authorization": f"Basic {_b64(POSTMARK)}"}


def _mailgun(_h: Hooks, address: str, event_id: str) -> Request:
    data = {"id": event_id, "event": "failed", "severity": "permanent", "recipient": address}
    return "/hooks/mailgun", mailgun_body(MAILGUN_KEY, data, STAMP, "t" * 50), {}


def _ses(h: Hooks, address: str, event_id: str) -> Request:
    bounce = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]}
    note = {"notificationType": "Bounce", "bounce": bounce}
    doc = h.sns.sign(ses_notification(note, when=NOW, message_id=event_id))
    return "/hooks/ses", json.dumps(doc).encode(), {}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SERVICES = pytest.mark.parametrize("service", [_sendgrid, _postmark, _mailgun, _ses],
                                   ids=["sendgrid", "postmark", "mailgun", "ses"])  # fmt: skip


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@UNSTORABLE
@SERVICES
async def test_an_address_no_store_can_hold_is_nobodys(
    hooks: Hooks, service: Callable[[Hooks, str, str], Request], bad: str
) -> None:
    path, body, headers = service(hooks, hooks.rows[0].recipient + bad, "ev-1")
    r = await hooks.client.post(path, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"events": 1, "applied": 1}
    assert suppressed(hooks.engine) == {}
    assert _count(hooks.engine, inbound_messages) == 1  # recorded: a retry is a duplicate


@UNSTORABLE
@SERVICES
async def test_an_event_id_no_store_can_hold_still_applies(
    hooks: Hooks, service: Callable[[Hooks, str, str], Request], bad: str
) -> None:
    reader = hooks.rows[0].recipient
    path, body, headers = service(hooks, reader, f"ev-{bad}-1")
    r = await hooks.client.post(path, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"events": 1, "applied": 1}
    assert suppressed(hooks.engine) == {reader: "hard_bounce"}


@UNSTORABLE
async def test_a_strangers_sns_field_no_store_can_hold_is_a_401(hooks: Hooks, bad: str) -> None:
    doc = ses_notification({"notificationType": "Bounce"}, when=NOW, message_id="m-1")
    doc.update(Subject=f"hi{bad}", SignatureVersion="1", Signature="AAAA")
    r = await hooks.client.post("/hooks/ses", content=json.dumps(doc))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["message"] == "signature does not verify"
    assert _count(hooks.engine, inbound_messages) == 0


@UNSTORABLE
async def test_a_signed_mailgun_token_no_store_can_hold_is_a_400(hooks: Hooks, bad: str) -> None:
    reader = hooks.rows[0].recipient
    data = {"id": "mg-1", "event": "failed", "severity": "permanent", "recipient": reader}
    body = mailgun_body(MAILGUN_KEY, data, STAMP, "t" * 40 + bad)
    r = await hooks.client.post("/hooks/mailgun", content=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith("the signature's token holds a ")
    assert suppressed(hooks.engine) == {}
    assert _count(hooks.engine, inbound_messages) == 0
    assert _count(hooks.engine, webhook_tokens) == 0
