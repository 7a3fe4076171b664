"""The alerting gauge publisher_outbox_oldest_queued_age_seconds says how long the longest-
waiting due message has been due: rows held for the quiet hours (or waiting for a retry) are
not late, and an alert on the gauge must fire neither every night nor every morning."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.daemon.jobtable import JobTable
from publisher.messages import enqueue
from publisher.store.types import Engine


def _age(table: JobTable) -> float:
    body, _ = table.metrics.render()
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            if s.name == "publisher_outbox_oldest_queued_age_seconds":
                return float(s.value)
    raise AssertionError("gauge missing")


def test_held_rows_do_not_age_the_gauge_until_they_are_due(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    app = App(settings=settings, clock=clock)
    start = clock.now()
    opens = start + timedelta(hours=9)
    with app.engine.begin() as conn:
        cid = enqueue.store_content(conn, key="c", kind="digest", body=b"x\r\n", now=start)
        held = enqueue.NewMessage("h", "digest", "h@example.kr", cid, not_before=opens)
        enqueue.enqueue(conn, [held], now=start, domain="news.example.kr")
    table = JobTable(app)
    clock.advance(timedelta(hours=8))
    assert _age(table) == 0  # before: 8 h, as if the drain had been stuck all night
    clock.advance(timedelta(hours=1, minutes=5))
    assert _age(table) == 300  # due five minutes ago (made nine hours before: not late then)
