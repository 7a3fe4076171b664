"""A breaking-news alert, as readers and editors meet it: sent through the API, delivered by
the drain to a real SMTP server to the readers who opted in (and to nobody else), with its own
kind and expiry; an alert that cannot go out in time is dropped, never sent late."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest

from publisher.delivery.configured import build_drain
from publisher.store import suppressions as store_suppressions
from tests.alerts.alertkit import reader
from tests.smtpserver import SmtpServer
from tests.webkit import API_KEY, Web, outbox_rows

pytestmark = pytest.mark.asyncio
KEY = {"X-API-Key": API_KEY}


async def test_alert_reaches_opted_in_readers_only(web: Web) -> None:
    reader(web.engine, "kim@example.kr", alerts=True, name="김민수")
    reader(web.engine, "lee@example.kr", alerts=False)  # a reader from before: default off
    reader(web.engine, "park@example.kr", alerts=True, status="pending")
    reader(web.engine, "choi@example.kr", alerts=True)
    with web.engine.begin() as conn:
        store_suppressions.add(conn, ["choi@example.kr"], reason="hard_bounce", now=web.clock.now())
    r = await web.client.post(
        "/api/alerts", json={"article_id": "a0001", "by": "편집국"}, headers=KEY
    )
    assert r.status_code == 201, r.text
    assert r.json()["recipients"] == 1 and r.json()["subject"].startswith("[속보] ")
    rows = outbox_rows(web.engine, "alert")
    assert [x["recipient"] for x in rows] == ["kim@example.kr"]
    assert rows[0]["expires_at"] - rows[0]["created_at"] == timedelta(hours=2)

    server = await SmtpServer().start()
    s = web.settings.model_copy(update={"smtp_url": server.url})
    report = await build_drain(s, web.engine, web.clock).run(until_empty=True)
    await server.stop()
    assert report.sent == 1 and server.record.recipients() == {"kim@example.kr": 1}
    msg = email.message_from_bytes(server.record.messages[0][1], policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    assert str(msg["Subject"]).startswith("[속보] 정치 기사 1번")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in str(msg["List-Unsubscribe"]) and "alerts." in str(msg["List-Id"])
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "속보 알림 그만 받기" in text.get_content() and "%%" not in text.get_content()
    assert 'style="' in html.get_content()  # the CSS is inlined
    history = (await web.client.get("/api/alerts", headers=KEY)).json()
    assert history["remaining_today"] == 2
    assert history["alerts"][0]["requested_by"] == "api:편집국"
    assert history["alerts"][0]["outbox"] == {"sent": 1}


async def test_an_alert_past_its_expiry_is_dropped_not_sent_late(web: Web) -> None:
    reader(web.engine, "kim@example.kr", alerts=True)
    r = await web.client.post("/api/alerts", json={"article_id": "a0002"}, headers=KEY)
    assert r.status_code == 201
    web.clock.advance(timedelta(hours=2, seconds=1))  # the relay was down all that time
    server = await SmtpServer().start()
    s = web.settings.model_copy(update={"smtp_url": server.url})
    report = await build_drain(s, web.engine, web.clock).run(until_empty=True)
    await server.stop()
    assert report.sent == 0 and server.record.messages == []
    assert [x["status"] for x in outbox_rows(web.engine, "alert")] == ["expired"]


async def test_hostile_alert_requests_get_clear_4xx(web: Web) -> None:
    reader(web.engine, "kim@example.kr", alerts=True)
    assert (await web.client.post("/api/alerts", json={"article_id": "a0001"})).status_code == 401
    unknown = await web.client.post("/api/alerts", json={"article_id": "nope"}, headers=KEY)
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "no article 'nope'"
    gone = await web.client.delete("/api/articles/a0003", headers=KEY)
    assert gone.status_code == 200
    retracted = await web.client.post("/api/alerts", json={"article_id": "a0003"}, headers=KEY)
    assert retracted.status_code == 409 and "retracted" in retracted.json()["error"]["message"]
    for body in ({}, {"article_id": 7}, {"article_id": ""}, {"article_id": "x" * 201}):
        bad = await web.client.post("/api/alerts", json=body, headers=KEY)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "article_id", body
    who = await web.client.post("/api/alerts", json={"article_id": "a0001", "by": 3}, headers=KEY)
    assert who.status_code == 422 and who.json()["error"]["field"] == "by"
    junk = await web.client.post(
        "/api/alerts", content=b"[", headers={**KEY, "content-type": "application/json"}
    )
    assert junk.status_code == 400
    assert outbox_rows(web.engine, "alert") == []  # nothing half done
    assert (await web.client.get("/api/alerts", headers=KEY)).json()["alerts"] == []
