"""The inbound store queries on SQLite and PostgreSQL: records once, batch lookups, the bounce
score, per-run and per-day counts, suppressions that outrank the reader's own, holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.store import holds, inbound, inboundtokens
from publisher.store import suppressions as store_suppressions
from publisher.store.inboundschema import webhook_tokens

T = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_inbound_queries(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        cid = store_content(conn, key="digest:v", kind="digest", body=b"x", now=T)
        enqueue(conn, [NewMessage(f"digest:morning:7:subscriber:{i}", "digest",
                                  f"U{i}@Example.kr", cid) for i in range(3)],
                now=T, domain="news.example.kr")  # fmt: skip
        conn.exec_driver_sql("UPDATE outbox SET status = 'sent'")
        rows = inbound.outbox_rows(conn, [1, 2, 3, 99])
        assert sorted(rows) == [1, 2, 3]
        assert inbound.last_sent_to(conn, ["u2@example.kr"]) == rows[3]
        row = rows[1]
        assert inbound.outbox_by_message_id(conn, "<nope>") is None
        inbound.record(conn, key="k1", source="maildir:a", now=T, outcome="complaint", row=row,
                       digest_id="morning", run_id=7, address=row.recipient)  # fmt: skip
        for i in range(3):
            inbound.record(conn, key=f"s{i}", source="stdin", now=T - timedelta(days=i * 4),
                           outcome="soft_bounce", address="U9@example.KR")  # fmt: skip
        assert inbound.seen(conn, "k1") == ("complaint", True)
        assert inbound.seen_many(conn, ["k1", "s0", "zz"]) == {
            "k1": ("complaint", True), "s0": ("soft_bounce", False)
        }  # fmt: skip
        assert inbound.soft_bounces(conn, "u9@example.kr", since=T - timedelta(days=7)) == 2
        assert inbound.run_complaints(conn, 7) == 1
        assert inbound.run_counts(conn, [7, 8]) == {7: {"complaint": 1}}
        store_suppressions.add(conn, ["u0@example.kr"], reason="unsubscribed", now=T)
        assert not inbound.suppress(conn, "U0@example.kr", reason="complaint", detail="", now=T)
        assert inbound.suppress(conn, "u1@example.kr", reason="hard_bounce", detail="", now=T)
        reasons = {s.email: s.reason for s in store_suppressions.list_all(conn)}
        assert reasons == {"u0@example.kr": "complaint", "u1@example.kr": "hard_bounce"}
        days = inbound.day_counts(conn, since=T - timedelta(days=30))
        assert {(d.source, d.day, d.outcome, d.count) for d in days} == {
            ("maildir:a", "2026-11-24", "complaint", 1), ("stdin", "2026-11-24", "soft_bounce", 1),
            ("stdin", "2026-11-20", "soft_bounce", 1), ("stdin", "2026-11-16", "soft_bounce", 1),
        }  # fmt: skip
        assert holds.hold(conn, "morning", reason="r", by="inbound", now=T)
        assert not holds.hold(conn, "morning", reason="other", by="x", now=T)
        held = holds.get(conn, "morning")
        assert held is not None and held.reason == "r" and held.created_at == T
    with pytest.raises(IntegrityError), any_engine.begin() as conn:
        inbound.record(conn, key="k1", source="x", now=T, outcome="unmatched")
    with any_engine.begin() as conn:
        assert holds.release(conn, "morning") and not holds.release(conn, "morning")


def test_webhook_tokens_used_once_then_purged(any_engine: Engine) -> None:
    window = timedelta(minutes=5)
    with any_engine.begin() as conn:
        assert inboundtokens.use_once(conn, "mailgun", "t1", signed_at=T, expired_before=T - window)
        assert not inboundtokens.use_once(conn, "mailgun", "t1", signed_at=T,
                                          expired_before=T - window)  # fmt: skip
        # Another provider's token of the same text is its own.
        assert inboundtokens.use_once(conn, "other", "t1", signed_at=T, expired_before=T - window)
    later = T + window + timedelta(seconds=1)
    with any_engine.begin() as conn:  # past the window: purged, so the table stays small
        assert inboundtokens.use_once(conn, "mailgun", "t2", signed_at=later,
                                      expired_before=later - window)  # fmt: skip
        left = conn.execute(select(webhook_tokens.c.token)).scalars().all()
    assert left == ["t2"]


def test_complaints_per_run_count_each_address_once(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        for n, who in enumerate(["a@example.kr", "A@example.kr", "b@example.kr"]):
            inbound.record(conn, key=f"c{n}", source="stdin", now=T, outcome="complaint",
                           digest_id="morning", run_id=7, address=who)  # fmt: skip
        assert inbound.run_complaints(conn, 7) == 2
        assert inbound.complained(conn, 7, "a@EXAMPLE.kr")
        assert not inbound.complained(conn, 8, "a@example.kr")
        assert inbound.run_counts(conn, [7]) == {7: {"complaint": 2}}
