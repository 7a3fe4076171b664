"""Readers choose breaking-news alerts (속보 알림 받기) on the subscribe and preferences pages;
readers who subscribed before it existed are off."""

from __future__ import annotations

import json

import pytest

from publisher.core import tokens
from publisher.readers import signup
from tests.digestkit import add_subscriber
from tests.webkit import Web, link_in, message_of, outbox_rows

pytestmark = pytest.mark.asyncio


def _prefs(web: Web, sid: int) -> str:
    token = tokens.make(web.settings.secret_key, "preferences", (sid,), now=web.clock.now())
    return f"/preferences/{token}"


async def test_preferences_turn_alerts_on_and_off(web: Web) -> None:
    sid = add_subscriber(web.engine, "minsu@example.kr", ("politics",))
    path = _prefs(web, sid)
    page = await web.client.get(path)
    assert "속보 알림 받기" in page.text and 'name="alerts" value="yes" checked' not in page.text
    on = await web.client.post(path, data={"sections": ["politics"], "frequency": "daily",
                                           "alerts": "yes"})  # fmt: skip
    assert on.status_code == 200 and 'name="alerts" value="yes" checked' in on.text
    export = await web.client.post(path, data={"action": "export"})
    assert json.loads(export.text)["alerts"] is True
    off = await web.client.post(path, data={"sections": ["politics"], "frequency": "daily"})
    assert 'name="alerts" value="yes" checked' not in off.text
    english = await web.client.get(path + "?lang=en")
    assert "Breaking-news alerts" in english.text


async def test_subscribe_with_alerts_applies_on_confirmation(web: Web) -> None:
    form = await web.client.get("/subscribe")
    assert 'name="alerts" value="yes"' in form.text and "속보 알림 받기" in form.text
    r = await web.client.post("/subscribe", data={"email": "new@example.kr", "frequency": "daily",
                                                  "alerts": "yes"})  # fmt: skip
    assert r.status_code == 200
    confirm = link_in(message_of(web.engine, outbox_rows(web.engine, "confirm")[-1]), "confirm")
    assert (await web.client.post(confirm)).status_code == 200
    who = signup.subscriber_for(web.engine, web.settings.secret_key, "preferences",
                                _prefs(web, 1).rsplit("/", 1)[1], now=web.clock.now())  # fmt: skip
    assert who is not None and who.status == "confirmed" and who.alerts
