"""The two rules of alerts, held by the database: at most alerts_per_day per calendar day in
the site timezone, and never twice for one article, also when two sends race."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from publisher.alerts import send as alerts
from publisher.core.config import Settings
from tests.alerts.alertkit import reader
from tests.digestkit import load_store
from tests.webkit import outbox_rows

# 23:59 and 00:01 in Seoul (UTC+9), around the local midnight of 24 November 2026.
LATE = datetime(2026, 11, 23, 14, 59, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 23, 15, 1, tzinfo=UTC)


def test_per_day_cap_in_the_site_timezone_and_once_per_article(
    engine: Engine, settings: Settings
) -> None:
    load_store(engine)
    reader(engine, "kim@example.kr", alerts=True)
    s = settings.model_copy(update={"alerts_per_day": 2})
    first = alerts.send(engine, s, "a0001", by="desk", now=LATE - timedelta(hours=3))
    assert (first.recipients, first.enqueued, first.slot) == (1, 1, 1)
    with pytest.raises(alerts.AlreadySent, match="already had its alert"):
        alerts.send(engine, s, "a0001", by="desk", now=LATE)
    assert alerts.send(engine, s, "a0002", by="desk", now=LATE).slot == 2
    with pytest.raises(alerts.OverCap, match="2 alerts went out on 2026-11-23"):
        alerts.send(engine, s, "a0003", by="desk", now=LATE)
    with pytest.raises(alerts.AlreadySent):  # not "the day is full": the truth is "already"
        alerts.send(engine, s, "a0001", by="desk", now=LATE)
    assert alerts.remaining_today(engine, s, now=LATE) == 0
    # Midnight in Seoul, not in UTC, opens the next day's slots.
    assert alerts.send(engine, s, "a0003", by="desk", now=NEXT_DAY).slot == 1
    with pytest.raises(alerts.AlreadySent):  # a new day does not allow a second alert
        alerts.send(engine, s, "a0001", by="desk", now=NEXT_DAY)
    assert len(outbox_rows(engine, "alert")) == 3


def _race(calls: Sequence[Callable[[], object]]) -> list[object]:
    """Run the calls at the same moment in threads; each result or the exception raised."""
    gate = threading.Barrier(len(calls))
    out: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        gate.wait(timeout=30)
        try:
            out[i] = calls[i]()
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_concurrent_sends_of_one_article_send_one_alert(
    any_engine: Engine, settings: Settings
) -> None:
    load_store(any_engine)
    reader(any_engine, "kim@example.kr", alerts=True)
    reader(any_engine, "lee@example.kr", alerts=True)
    send = lambda: alerts.send(any_engine, settings, "a0004", by="desk", now=LATE)  # noqa: E731
    results = _race([send, send, send])
    sent = [r for r in results if isinstance(r, alerts.AlertSent)]
    refused = [r for r in results if isinstance(r, alerts.AlreadySent)]
    assert (len(sent), len(refused)) == (1, 2), results
    assert sorted(x["recipient"] for x in outbox_rows(any_engine, "alert")) == [
        "kim@example.kr", "lee@example.kr",
    ]  # fmt: skip


def test_concurrent_sends_at_the_cap_send_only_up_to_it(
    any_engine: Engine, settings: Settings
) -> None:
    load_store(any_engine)
    reader(any_engine, "kim@example.kr", alerts=True)
    s = settings.model_copy(update={"alerts_per_day": 2})
    calls = [
        functools.partial(alerts.send, any_engine, s, a, by="desk", now=LATE)
        for a in ("a0005", "a0006", "a0007", "a0008")
    ]
    results = _race(calls)
    sent = [r for r in results if isinstance(r, alerts.AlertSent)]
    over = [r for r in results if isinstance(r, alerts.OverCap)]
    assert (len(sent), len(over)) == (2, 2), results
    assert sorted(r.slot for r in sent) == [1, 2]
    assert len(outbox_rows(any_engine, "alert")) == 2
