"""`subscribers remove` stops every mail queued for the reader, breaking-news alerts included,
and leaves the address suppressed as `deleted` (as "delete my data" does)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from publisher.alerts import send as alerts
from publisher.consent.record import act_of
from publisher.core.config import Settings
from publisher.readers import subscribers, suppressions
from tests.alerts.alertkit import reader
from tests.digestkit import load_store
from tests.webkit import outbox_rows

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_removing_a_reader_cancels_their_queued_alert(engine: Engine, settings: Settings) -> None:
    load_store(engine)
    reader(engine, "kim@example.kr", alerts=True)
    reader(engine, "lee@example.kr", alerts=True)
    assert alerts.send(engine, settings, "a0001", by="desk", now=NOW).enqueued == 2

    cancelled = subscribers.remove(engine, "kim@example.kr", now=NOW, act=act_of(settings, "cli"))

    assert cancelled == 1
    status = {r["recipient"]: r["status"] for r in outbox_rows(engine, "alert")}
    assert status["kim@example.kr"] != "queued" and status["lee@example.kr"] == "queued"
    listed = {s.email: s.reason for s in suppressions.list_suppressions(engine)}
    assert listed.get("kim@example.kr") == "deleted"
