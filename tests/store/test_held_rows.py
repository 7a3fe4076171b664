"""Queued rows held for a later time (the quiet hours) are counted apart, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from publisher.messages import enqueue
from publisher.store import stats

NOW = datetime(2026, 11, 29, 13, 30, tzinfo=UTC)  # 22:30 in Seoul


def test_held_rows_are_the_queued_ones_not_yet_due(any_engine: Engine) -> None:
    opens, later = NOW + timedelta(hours=9, minutes=30), NOW + timedelta(days=1)
    with any_engine.begin() as conn:
        cid = enqueue.store_content(conn, key="c", kind="digest", body=b"x\r\n", now=NOW)
        rows = [enqueue.NewMessage("due", "confirm", "a@example.kr", cid)] + [
            enqueue.NewMessage(f"h{i}", "digest", f"h{i}@example.kr", cid, not_before=at)
            for i, at in enumerate((opens, opens, later))
        ]
        enqueue.enqueue(conn, rows, now=NOW, domain="news.example.kr")
    with any_engine.connect() as conn:
        assert stats.held_queued(conn, now=NOW) == stats.Held(3, opens, later)
        assert stats.held_queued(conn, now=opens) == stats.Held(1, later, later)
        assert stats.held_queued(conn, now=later) == stats.Held(0, None, None)
