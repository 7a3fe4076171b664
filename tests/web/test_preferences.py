"""Preferences: change the choice, unsubscribe, download and delete my data; the archive page."""

from __future__ import annotations

import json

import pytest

from publisher.core import tokens
from publisher.digests import pipeline
from tests.digestkit import add_subscriber, schedules
from tests.webkit import Web, link_in, message_of, outbox_rows, subscriber_status, suppressed

pytestmark = pytest.mark.asyncio


def prefs_path(web: Web, sid: int) -> str:
    return "/preferences/" + tokens.make(
        web.settings.secret_key, "preferences", (sid,), now=web.clock.now()
    )


async def test_change_sections_and_frequency(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", ("politics",))
    path = prefs_path(web, sid)
    page = await web.client.get(path)
    assert page.status_code == 200 and "minsu@example.kr" in page.text
    assert 'value="politics" checked' in page.text
    r = await web.client.post(path, data={"sections": ["economy", "world"], "frequency": "weekly"})
    assert r.status_code == 200 and "설정을 저장했습니다" in r.text
    assert 'value="economy" checked' in r.text and 'value="politics" checked' not in r.text
    assert 'value="weekly" checked' in r.text
    bad = await web.client.post(path, data={"sections": ["<b>"], "frequency": "hourly"})
    assert bad.status_code == 400 and "올바르지 않습니다" in bad.text


async def test_download_then_delete_my_data(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", ("politics",), name="김민수")
    path = prefs_path(web, sid)
    r = await web.client.post(path, data={"action": "export"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"]
    data = json.loads(r.text)
    assert data["email"] == "minsu@example.kr" and data["sections"] == ["politics"]
    r = await web.client.post(f"{path}/delete", data={"confirm": "yes"})
    assert r.status_code == 200 and subscriber_status(web.engine, "minsu@example.kr") is None
    assert (await web.client.get(path)).status_code == 400  # nothing left to show


async def test_unsubscribe_from_preferences_and_wrong_token(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr")
    r = await web.client.post(prefs_path(web, sid), data={"action": "unsubscribe"})
    assert (
        r.status_code == 200 and subscriber_status(web.engine, "minsu@example.kr") == "unsubscribed"
    )
    assert ("all", "unsubscribed") in suppressed(web.engine, "minsu@example.kr")
    unsub = tokens.make(web.settings.secret_key, "unsubscribe", (sid,), now=web.clock.now())
    assert (await web.client.get(f"/preferences/{unsub}")).status_code == 400


async def test_resubscribe_after_unsubscribe_lifts_own_suppression(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr")
    await web.client.post(prefs_path(web, sid), data={"action": "unsubscribe"})
    await web.client.post("/subscribe", data={"email": "minsu@example.kr", "frequency": "daily"})
    # Held pending: the address stays unsubscribed until the mailbox confirms.
    assert subscriber_status(web.engine, "minsu@example.kr") == "unsubscribed"
    [row] = outbox_rows(web.engine, "confirm")
    await web.client.post(link_in(message_of(web.engine, row), "confirm"))
    assert subscriber_status(web.engine, "minsu@example.kr") == "confirmed"
    assert suppressed(web.engine, "minsu@example.kr") == []


async def test_archive_has_no_personal_links(web: Web) -> None:
    add_subscriber(web.engine, "minsu@example.kr")
    result = pipeline.run_digest(
        web.engine, web.settings, schedules(), "morning", now=web.clock.now()
    )
    assert result.run_id is not None
    r = await web.client.get(f"/archive/morning/{result.run_id}")
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert "/u/" not in r.text and "/preferences/" not in r.text and "%%" not in r.text
    assert (await web.client.get(f"/archive/weekly/{result.run_id}")).status_code == 404
    assert (await web.client.get("/archive/morning/999")).status_code == 404


async def test_unsubscribed_reader_sees_the_state_and_can_subscribe_again(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", ("politics",))
    path = prefs_path(web, sid)
    active = await web.client.get(path)
    assert "구독이 해지된 상태입니다" not in active.text and 'value="unsubscribe"' in active.text
    await web.client.post(path, data={"action": "unsubscribe"})

    page = await web.client.get(path)
    assert page.status_code == 200 and "구독이 해지된 상태입니다" in page.text
    assert 'value="resubscribe"' in page.text and 'value="unsubscribe"' not in page.text
    en = await web.client.get(path + "?lang=en")
    assert "You are unsubscribed" in en.text and "Subscribe again" in en.text

    saved = await web.client.post(path, data={"sections": ["economy"], "frequency": "daily"})
    assert saved.status_code == 200 and "구독이 해지된 상태이므로" in saved.text
    assert subscriber_status(web.engine, "minsu@example.kr") == "unsubscribed"
    assert outbox_rows(web.engine, "confirm") == []

    again = await web.client.post(
        path, data={"action": "resubscribe", "sections": ["world"], "frequency": "weekly"}
    )
    assert again.status_code == 200 and "확인 메일을 보냈습니다" in again.text
    assert subscriber_status(web.engine, "minsu@example.kr") == "unsubscribed"  # until confirmed
    [row] = outbox_rows(web.engine, "confirm")
    assert row["recipient"] == "minsu@example.kr"
    assert (
        await web.client.post(link_in(message_of(web.engine, row), "confirm"))
    ).status_code == 200
    assert subscriber_status(web.engine, "minsu@example.kr") == "confirmed"
    assert suppressed(web.engine, "minsu@example.kr") == []
    after = await web.client.get(path)
    assert 'value="world" checked' in after.text and 'value="weekly" checked' in after.text
    assert "구독이 해지된 상태입니다" not in after.text


async def test_delete_my_data_asks_before_deleting(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", ("politics",))
    path = prefs_path(web, sid)
    page = await web.client.get(path)
    assert f'action="{path.rpartition("/")[2]}/delete"' in page.text  # a GET form: it only asks
    ask = await web.client.get(f"{path}/delete")
    assert ask.status_code == 200 and "되돌릴 수 없습니다" in ask.text
    assert 'name="confirm" value="yes"' in ask.text
    en = await web.client.get(f"{path}/delete?lang=en")
    assert "cannot be undone" in en.text
    old_form = await web.client.post(path, data={"action": "delete"})  # a page from before
    assert old_form.status_code == 200 and "되돌릴 수 없습니다" in old_form.text
    unconfirmed = await web.client.post(f"{path}/delete", data={})
    assert unconfirmed.status_code == 400
    assert subscriber_status(web.engine, "minsu@example.kr") == "confirmed"
    done = await web.client.post(f"{path}/delete", data={"confirm": "yes"})
    assert done.status_code == 200 and "정보를 삭제했습니다" in done.text
    assert subscriber_status(web.engine, "minsu@example.kr") is None
    assert suppressed(web.engine, "minsu@example.kr") == [("all", "deleted")]
