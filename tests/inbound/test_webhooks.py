"""The sending services' webhooks through the real ASGI app: a signed SES (SNS) bounce and
complaint, a SendGrid event batch, Postmark and Mailgun events each change the right reader;
a bad signature, a replay outside the window, a forged certificate URL, a body that is not
JSON or is 10 MB are 4xx and change nothing."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, func, select

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.httpclient import HttpError
from publisher.inbound.webhooks import ses
from publisher.inbound.webhooks.events import BadSignature
from publisher.store.inboundschema import inbound_messages, webhook_tokens
from publisher.web.app import create_app
from publisher.web.context import WebContext
from publisher.web.hooks import fetch_https
from tests.digestkit import NOW, schedules
from tests.inbound.hookkit import MAILGUN_KEY, POSTMARK, Hooks, open_hooks
from tests.inbound.inboundkit import SentRow, status_of, suppressed
from tests.inbound.signkit import (
    SNS_CERT_URL,
    TOPIC,
    mailgun_body,
    ses_notification,
)


@pytest_asyncio.fixture
async def hooks(engine: Engine, settings: Settings, tmp_path: Path) -> AsyncIterator[Hooks]:
    async for h in open_hooks(engine, settings, tmp_path):
        yield h


def _records(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbound_messages)).scalar_one())


def _bounce(row: SentRow) -> dict[str, object]:
    return {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                   "bouncedRecipients": [{"emailAddress": row.recipient}]},
        "mail": {"source": row.verp, "commonHeaders": {"messageId": row.message_id}},
    }  # fmt: skip


@pytest.mark.asyncio
async def test_ses_bounce_and_complaint_via_signed_sns(hooks: Hooks) -> None:
    r0, r1 = hooks.rows[0], hooks.rows[1]
    doc = hooks.sns.sign(ses_notification(_bounce(r0), when=NOW, message_id="m-1"))
    resp = await hooks.client.post("/hooks/ses", content=json.dumps(doc))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"events": 1, "applied": 1}
    complaint = {"notificationType": "Complaint",
                 "complaint": {"complainedRecipients": [{"emailAddress": r1.recipient}]},
                 "mail": {"source": r1.verp}}  # fmt: skip
    doc2 = hooks.sns.sign(ses_notification(complaint, when=NOW, message_id="m-2"), version="2")
    assert (await hooks.client.post("/hooks/ses", content=json.dumps(doc2))).status_code == 200
    assert suppressed(hooks.engine) == {r0.recipient: "hard_bounce", r1.recipient: "complaint"}
    assert status_of(hooks.engine, r1.recipient) == "unsubscribed"
    # SNS delivers at least once: the same message again applies nothing.
    again = await hooks.client.post("/hooks/ses", content=json.dumps(doc))
    assert again.json() == {"events": 1, "applied": 0}
    assert hooks.https.requests == ["/SimpleNotificationService-test.pem"]  # fetched once
    counted = hooks.metrics.render()[0].decode()
    assert 'publisher_inbound_messages_total{outcome="hard_bounce",source="ses"} 1.0' in counted
    assert 'publisher_inbound_messages_total{outcome="duplicate",source="ses"} 1.0' in counted


@pytest.mark.asyncio
async def test_ses_refusals_change_nothing(hooks: Hooks) -> None:
    row = hooks.rows[2]
    good = hooks.sns.sign(ses_notification(_bounce(row), when=NOW, message_id="m-3"))
    tampered = {**good, "Message": good["Message"].replace("Permanent", "Transient")}
    stale = hooks.sns.sign(ses_notification(_bounce(row), when=NOW - timedelta(hours=1),
                                            message_id="m-4"))  # fmt: skip
    evil_url = {**good, "SigningCertURL": "https://sns.evil.example/x.pem"}
    plain_http = {**good, "SigningCertURL": SNS_CERT_URL.replace("https", "http")}
    other_topic = hooks.sns.sign({**ses_notification(_bounce(row), when=NOW, message_id="m-5"),
                                  "TopicArn": "arn:aws:sns:us-east-1:999:other"})  # fmt: skip
    for doc in (tampered, stale, evil_url, plain_http, other_topic):
        resp = await hooks.client.post("/hooks/ses", content=json.dumps(doc))
        assert resp.status_code == 401, resp.text
    for body in (b"not json", b'{"Type": "Notification"}', b"[]"):
        resp = await hooks.client.post("/hooks/ses", content=body)
        assert resp.status_code == 400, resp.text
    huge = await hooks.client.post("/hooks/ses", content=b"{" + b" " * (10 << 20) + b"}")
    assert huge.status_code == 413
    assert suppressed(hooks.engine) == {} and _records(hooks.engine) == 0
    assert all(p.endswith(".pem") for p in hooks.https.requests)  # no host but the SNS one


@pytest.mark.asyncio
async def test_sns_subscription_confirmed_only_when_signed(hooks: Hooks) -> None:
    confirm = {
        "Type": "SubscriptionConfirmation", "MessageId": "c-1", "Token": "tok",
        "TopicArn": TOPIC, "Message": "You have chosen to subscribe",
        "SubscribeURL": "https://sns.ap-northeast-2.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
        "Timestamp": NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "SigningCertURL": SNS_CERT_URL,
    }  # fmt: skip
    unsigned = {**confirm, "SignatureVersion": "1", "Signature": base64.b64encode(b"x").decode()}
    assert (await hooks.client.post("/hooks/ses", content=json.dumps(unsigned))).status_code == 401
    elsewhere = hooks.sns.sign({**confirm, "SubscribeURL": "https://evil.example/confirm"})
    assert (await hooks.client.post("/hooks/ses", content=json.dumps(elsewhere))).status_code == 401
    assert not any("Confirm" in p for p in hooks.https.requests)
    resp = await hooks.client.post("/hooks/ses", content=json.dumps(hooks.sns.sign(confirm)))
    assert resp.status_code == 200 and resp.json() == {"subscribed": TOPIC}
    assert "/?Action=ConfirmSubscription&Token=tok" in hooks.https.requests


@pytest.mark.asyncio
async def test_sendgrid_signed_events(hooks: Hooks) -> None:
    r3, r4 = hooks.rows[3], hooks.rows[4]
    stamp = int(NOW.timestamp())
    body = json.dumps([
        {"email": r3.recipient, "event": "bounce", "type": "bounce", "status": "5.1.1",
         "sg_event_id": "e1", "timestamp": stamp},
        {"email": r4.recipient, "event": "spamreport", "sg_event_id": "e2", "timestamp": stamp},
        {"email": r4.recipient, "event": "delivered", "sg_event_id": "e3", "timestamp": stamp},
    ]).encode()  # fmt: skip
    bad = await hooks.client.post("/hooks/sendgrid", content=body,
                                  headers=hooks.sendgrid.headers(body + b" ", stamp))  # fmt: skip
    assert bad.status_code == 401
    old = await hooks.client.post("/hooks/sendgrid", content=body,
                                  headers=hooks.sendgrid.headers(body, stamp - 3600))  # fmt: skip
    assert old.status_code == 401
    assert suppressed(hooks.engine) == {}
    resp = await hooks.client.post("/hooks/sendgrid", content=body,
                                   headers=hooks.sendgrid.headers(body, stamp))  # fmt: skip
    assert resp.status_code == 200 and resp.json() == {"events": 2, "applied": 2}
    assert suppressed(hooks.engine) == {r3.recipient: "hard_bounce", r4.recipient: "complaint"}
    junk = b"not json"
    resp = await hooks.client.post("/hooks/sendgrid", content=junk,
                                   headers=hooks.sendgrid.headers(junk, stamp))  # fmt: skip
    assert resp.status_code == 400


@pytest.mark.asyncio
async def test_postmark_and_mailgun(hooks: Hooks) -> None:
    r5, r6 = hooks.rows[5], hooks.rows[6]
    bounce = json.dumps({"RecordType": "Bounce", "ID": 42, "Type": "HardBounce",
                         "Email": r5.recipient, "BouncedAt": NOW.isoformat()}).encode()  # fmt: skip
    auth = "Basic " + base64.b64encode(POSTMARK.encode()).decode()
    wrong = "Basic " + base64.b64encode(b"postmark:guess").decode()
    refused = await hooks.client.post("/hooks/postmark", content=bounce,
                                      headers={"Authorization": wrong})  # fmt: skip
    assert refused.status_code == 401
    assert (await hooks.client.post("/hooks/postmark", content=bounce)).status_code == 401
    ok = await hooks.client.post("/hooks/postmark", content=bounce, headers={"Authorization": auth})
    assert ok.status_code == 200 and ok.json()["applied"] == 1
    stamp = int(NOW.timestamp())
    data = {"id": "mg-1", "event": "complained", "recipient": r6.recipient,
            "message": {"headers": {"message-id": r6.message_id.strip("<>")}}}  # fmt: skip
    forged = mailgun_body("not-the-key", data, stamp, "t" * 50)
    assert (await hooks.client.post("/hooks/mailgun", content=forged)).status_code == 401
    replay = mailgun_body(MAILGUN_KEY, data, stamp - 3600, "u" * 50)
    assert (await hooks.client.post("/hooks/mailgun", content=replay)).status_code == 401
    assert suppressed(hooks.engine) == {r5.recipient: "hard_bounce"}
    good = mailgun_body(MAILGUN_KEY, data, stamp, "v" * 50)
    resp = await hooks.client.post("/hooks/mailgun", content=good)
    assert resp.status_code == 200 and resp.json()["applied"] == 1
    assert status_of(hooks.engine, r6.recipient) == "unsubscribed"


@pytest.mark.asyncio
async def test_unconfigured_services_are_off(engine: Engine, settings: Settings) -> None:
    ctx = WebContext(settings, clock=FixedClock(NOW), engine_=engine, schedules_=schedules())
    transport = httpx.ASGITransport(app=create_app(settings, context=ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/hooks/ses", "/hooks/sendgrid", "/hooks/postmark", "/hooks/mailgun"):
            assert (await client.post(path, content=b"{}")).status_code in (401, 404), path
    await ctx.close()


@pytest.mark.parametrize(
    "url",
    [
        SNS_CERT_URL,
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
    ],
)
def test_sns_certificate_urls_on_regional_sns_hosts_are_accepted(url: str) -> None:
    assert ses.aws_url(url, pem=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.s3.amazonaws.com/x.pem",  # an S3 bucket named "sns": anyone's
        "https://sns.evil.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
        "https://sns.us-east-1.amazonaws.com/x.txt",
    ],
)
def test_sns_certificate_urls_elsewhere_are_refused(url: str) -> None:
    with pytest.raises(BadSignature):
        ses.aws_url(url, pem=True)


@pytest.mark.asyncio
async def test_sns_certificate_from_an_s3_bucket_is_never_fetched(hooks: Hooks) -> None:
    row = hooks.rows[3]
    doc = {**ses_notification(_bounce(row), when=NOW, message_id="m-s3"),
           "SigningCertURL": "https://sns.s3.amazonaws.com/x.pem"}  # fmt: skip
    resp = await hooks.client.post("/hooks/ses", content=json.dumps(hooks.sns.sign(doc)))
    assert resp.status_code == 401, resp.text
    assert hooks.https.requests == []
    assert suppressed(hooks.engine) == {} and _records(hooks.engine) == 0


@pytest.mark.asyncio
async def test_sns_certificate_not_issued_to_sns_is_refused(hooks: Hooks) -> None:
    row = hooks.rows[3]
    hooks.https.pem = hooks.sns.issue("attacker.example")  # same key, another name
    doc = hooks.sns.sign(ses_notification(_bounce(row), when=NOW, message_id="m-cn"))
    resp = await hooks.client.post("/hooks/ses", content=json.dumps(doc))
    assert resp.status_code == 401 and "sns.amazonaws.com" in resp.text, resp.text
    assert suppressed(hooks.engine) == {} and _records(hooks.engine) == 0


def test_certificate_fetch_does_not_follow_redirects() -> None:
    seen: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", "/attacker.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(HttpError, match="302"):
            fetch_https(f"http://127.0.0.1:{server.server_address[1]}/cert.pem")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["/cert.pem"]


@pytest.mark.asyncio
async def test_mailgun_signature_used_once(hooks: Hooks) -> None:
    """Mailgun signs timestamp + token only: the same signature with other event data (another
    reader) is a replay, 401, and changes nothing; the token is forgotten after the window."""
    r6, r7 = hooks.rows[6], hooks.rows[7]
    stamp = int(NOW.timestamp())
    first = {"id": "mg-a", "event": "failed", "severity": "permanent", "recipient": r6.recipient}
    body = mailgun_body(MAILGUN_KEY, first, stamp, "w" * 50)
    resp = await hooks.client.post("/hooks/mailgun", content=body)
    assert resp.status_code == 200 and resp.json()["applied"] == 1
    other = {**first, "id": "mg-b", "recipient": r7.recipient}
    for data in (other, first):
        replay = mailgun_body(MAILGUN_KEY, data, stamp, "w" * 50)
        resp = await hooks.client.post("/hooks/mailgun", content=replay)
        assert resp.status_code == 401 and "used before" in resp.text, resp.text
    assert suppressed(hooks.engine) == {r6.recipient: "hard_bounce"}
    assert _records(hooks.engine) == 1
    with hooks.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(webhook_tokens)).scalar_one() == 1
    # A later request purges tokens whose signed time is past the window.
    later = NOW + hooks.tolerance + timedelta(minutes=1)
    hooks.clock.set(later)
    fresh = mailgun_body(MAILGUN_KEY, {**first, "id": "mg-c"}, int(later.timestamp()), "x" * 50)
    assert (await hooks.client.post("/hooks/mailgun", content=fresh)).status_code == 200
    with hooks.engine.connect() as conn:
        tokens = conn.execute(select(webhook_tokens.c.token)).scalars().all()
    assert tokens == ["x" * 50]


@pytest.mark.asyncio
async def test_a_mailgun_signature_or_token_with_non_ascii_text_is_a_401(hooks: Hooks) -> None:
    """compare_digest raised TypeError on a non-ASCII str, and a lone surrogate failed the
    encode of what is signed: both were 500s from an unauthenticated request."""
    stamp = str(int(NOW.timestamp()))
    data = {"id": "mg-x", "event": "complained", "recipient": hooks.rows[6].recipient}
    for sig in ({"timestamp": stamp, "token": "t" * 50, "signature": "é" * 64},
                {"timestamp": stamp, "token": "t\ud800" * 10, "signature": "0" * 64}):  # fmt: skip
        body = json.dumps({"signature": sig, "event-data": data}).encode()
        resp = await hooks.client.post("/hooks/mailgun", content=body)
        assert resp.status_code == 401, resp.text
