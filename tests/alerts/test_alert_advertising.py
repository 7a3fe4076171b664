"""alerts_advertising: a site whose alerts are advertising (정보통신망법 제50조) gets the same
rules as an advertising digest: "(광고)" first in the subject, the sender and the 수신거부
notice in the body, held through the quiet hours, and not to readers whose consent lapsed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from publisher.alerts import send as alerts
from publisher.core.config import Settings
from publisher.store import consent as store_consent
from tests.alerts.alertkit import reader
from tests.digestkit import load_store
from tests.webkit import message_of, outbox_rows

NIGHT = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 22:30 in Seoul: inside 21:00-08:00
MORNING = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 08:00 the next day in Seoul


def test_an_advertising_alert_is_marked_held_and_skips_lapsed_readers(
    engine: Engine, settings: Settings
) -> None:
    load_store(engine)
    reader(engine, "kim@example.kr", alerts=True)
    lapsed = reader(engine, "park@example.kr", alerts=True)
    with engine.begin() as conn:
        store_consent.set_consented(conn, lapsed, at=NIGHT.replace(year=2024))
        store_consent.mark_lapsed(conn, [lapsed], now=NIGHT)
    s = settings.model_copy(update={"alerts_advertising": True, "advertiser_name": "한국일보"})

    sent = alerts.send(engine, s, "a0001", by="desk", now=NIGHT)

    assert sent.subject.startswith("(광고) ") and sent.recipients == 1
    (row,) = outbox_rows(engine, "alert")
    assert row["recipient"] == "kim@example.kr"
    assert row["next_attempt_at"].replace(tzinfo=UTC) == MORNING  # held, not dropped
    assert row["expires_at"].replace(tzinfo=UTC) > MORNING  # its expiry counts from then
    text = message_of(engine, row)
    assert "한국일보" in text and "수신거부" in text


def test_editorial_alerts_are_not_marked_and_go_at_once(engine: Engine, settings: Settings) -> None:
    load_store(engine)
    reader(engine, "kim@example.kr", alerts=True)

    sent = alerts.send(engine, settings, "a0001", by="desk", now=NIGHT)

    assert not sent.subject.startswith("(광고)")
    (row,) = outbox_rows(engine, "alert")
    assert row["next_attempt_at"].replace(tzinfo=UTC) == NIGHT
