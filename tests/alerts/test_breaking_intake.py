"""An intake marks an article `breaking: true`: the alerts job sends its alert once; one the
daily cap refuses is recorded and not retried, and an editor can still send it later."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.alerts import send as alerts
from tests.alerts.alertkit import reader
from tests.webkit import API_KEY, Web, outbox_rows

pytestmark = pytest.mark.asyncio
KEY = {"X-API-Key": API_KEY}


def _article(n: int, **extra: object) -> dict[str, object]:
    return {
        "url": f"https://news.example.kr/article/b{n}", "title": f"[속보] 지진 발생 {n}",
        "published_at": "2026-11-24T06:50:00+09:00", "section": "society", **extra,
    }  # fmt: skip


async def test_breaking_field_sends_one_alert_and_the_cap_is_remembered(web: Web) -> None:
    reader(web.engine, "kim@example.kr", alerts=True)
    s = web.settings.model_copy(update={"alerts_per_day": 1})
    for n in (1, 2):
        r = await web.client.put(
            f"/api/articles/b{n}", json=_article(n, breaking=True), headers=KEY
        )
        assert r.status_code == 200, r.text
    plain = await web.client.put("/api/articles/b3", json=_article(3), headers=KEY)
    assert plain.status_code == 200
    bad = await web.client.put("/api/articles/b4", json=_article(4, breaking="maybe"), headers=KEY)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "breaking"

    now = web.clock.now()
    sent = alerts.send_marked(web.engine, s, now=now)
    assert [a.article_id for a in sent] == ["b1"]
    assert alerts.send_marked(web.engine, s, now=now + timedelta(minutes=1)) == []
    rows = {a.article_id: a.status for a in alerts.history(web.engine)}
    assert rows == {"b1": "sent", "b2": "over_cap"}
    # Imported again as breaking: still one alert.
    await web.client.put(
        "/api/articles/b1", json=_article(1, breaking=True, summary="x"), headers=KEY
    )
    assert alerts.send_marked(web.engine, s, now=now + timedelta(minutes=2)) == []
    # The next day an editor sends the refused one by hand.
    later = alerts.send(web.engine, s, "b2", by="desk", now=now + timedelta(days=1))
    assert later.enqueued == 1
    assert len(outbox_rows(web.engine, "alert")) == 2


async def test_a_mark_older_than_alert_expiry_is_not_sent(web: Web) -> None:
    reader(web.engine, "kim@example.kr", alerts=True)
    r = await web.client.put("/api/articles/b9", json=_article(9, breaking=True), headers=KEY)
    assert r.status_code == 200
    late = web.clock.now() + web.settings.alert_expiry + timedelta(seconds=1)
    assert alerts.send_marked(web.engine, web.settings, now=late) == []
    assert outbox_rows(web.engine, "alert") == []
