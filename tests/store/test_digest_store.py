"""Digest runs and subscribers: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from publisher.core.vocab import SubscriberFrequency, SubscriberStatus
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.store import digest_runs
from publisher.store import subscribers as store

T = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def test_run_key_is_claimed_once(any_engine: Engine) -> None:
    kw: dict[str, Any] = {
        "digest_id": "morning",
        "window_start": T - timedelta(days=1),
        "window_end": T,
        "due_at": T,
        "status": "running",
        "now": T,
    }
    with any_engine.begin() as conn:
        run_id = digest_runs.claim(conn, **kw)
        assert run_id is not None
        assert digest_runs.claim(conn, **kw) is None
        digest_runs.finish(conn, run_id, status="enqueued", archive_html="<p>x</p>")
        too_few = digest_runs.claim(conn, **{**kw, "window_end": T + timedelta(days=1)})
        assert too_few is not None
        digest_runs.finish(conn, too_few, status="too_few")
    with any_engine.connect() as conn:
        assert digest_runs.last_window_end(conn, "morning") == T  # too_few does not advance
        assert digest_runs.archive_html(conn, run_id) == "<p>x</p>"
        assert [r.status for r in digest_runs.list_runs(conn, "morning")] == [
            "too_few",
            "enqueued",
        ]


def test_recipients_and_outbox_counts(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        people: list[tuple[SubscriberFrequency, SubscriberStatus]] = [
            ("daily", "confirmed"),
            ("daily", "pending"),
            ("weekly", "confirmed"),
        ]
        for i, (freq, status) in enumerate(people * 2):
            store.upsert(
                conn,
                email=f"r{i}@example.kr",
                name=f"독자{i}",
                sections=("politics", "economy") if i % 2 else (),
                frequency=freq,
                status=status,
                now=T,
            )
        store.suppress(conn, email="r3@example.kr", reason="hard_bounce", now=T)
        assert store.upsert(
            conn, email="r0@example.kr", name="독자0", sections=(), frequency="daily",
            status="confirmed", now=T,
        ) == "unchanged"  # fmt: skip
    with any_engine.connect() as conn:
        got = store.recipients(conn, frequency="daily")
    assert [(r.email, r.sections) for r in got] == [("r0@example.kr", ())]
    with any_engine.begin() as conn:
        cid = store_content(conn, key="digest:morning:1:v", kind="digest", body=b"x", now=T)
        cid10 = store_content(conn, key="digest:morning:10:v", kind="digest", body=b"x", now=T)
        msgs = [
            NewMessage(f"digest:morning:1:{i}", "digest", f"r{i}@example.kr", cid) for i in range(3)
        ] + [NewMessage("digest:morning:10:1", "digest", "r1@example.kr", cid10)]
        assert enqueue(conn, msgs, now=T, domain="example.kr") == 4
        assert digest_runs.outbox_counts(conn, "digest:morning:1:") == {"queued": 3}
        assert digest_runs.outbox_counts(conn, "digest:morning:10:") == {"queued": 1}
