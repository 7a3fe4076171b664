"""Which suppression stops which kind of mail, decided when the drain claims a row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from publisher.core.vocab import OutboxKind
from publisher.messages import enqueue
from publisher.store import suppressions

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _enqueue(engine: Engine, rows: list[tuple[OutboxKind, str]]) -> None:
    with engine.begin() as conn:
        cid = enqueue.store_content(conn, key="c", kind="digest", body=b"x\r\n", now=NOW)
        enqueue.enqueue(
            conn,
            [enqueue.NewMessage(f"{kind}:{rcpt}", kind, rcpt, cid) for kind, rcpt in rows],
            now=NOW,
            domain="news.example.kr",
        )


def test_each_suppression_stops_only_what_it_should(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        suppressions.add(conn, ["left@example.kr"], reason="unsubscribed", now=NOW)
        suppressions.add(conn, ["Bounced@Example.kr"], reason="hard_bounce", now=NOW)
        suppressions.add(conn, ["noshare@example.kr"], reason="share_block", now=NOW, scope="share")
    _enqueue(
        any_engine,
        [
            ("digest", "left@example.kr"),  # unsubscribed: no digest
            ("confirm", "left@example.kr"),  # … but signing up again gets the confirmation
            ("confirm", "bounced@example.kr"),  # a hard bounce stops even that
            ("share", "noshare@example.kr"),  # blocked shared articles only
            ("digest", "noshare@example.kr"),  # … the digest still goes
        ],
    )
    with any_engine.begin() as conn:
        live, set_aside = enqueue.claim(
            conn, owner="t", now=NOW, lease=timedelta(minutes=5), limit=10
        )
    assert sorted((c.kind, c.recipient) for c in live) == [
        ("confirm", "left@example.kr"),
        ("digest", "noshare@example.kr"),
    ]
    assert set_aside == 3


def test_deleting_after_unsubscribing_is_recorded_as_deleted(any_engine: Engine) -> None:
    from sqlalchemy import text

    from publisher.store import subscribers

    with any_engine.begin() as conn:
        subscribers.suppress(conn, email="Gone@example.kr", reason="unsubscribed", now=NOW)
        subscribers.suppress(conn, email="gone@example.kr", reason="deleted", now=NOW)
        subscribers.suppress(conn, email="bounced@example.kr", reason="hard_bounce", now=NOW)
        subscribers.suppress(conn, email="bounced@example.kr", reason="deleted", now=NOW)
        q = text("SELECT email, reason FROM suppressions")
        rows = {str(e): str(r) for e, r in conn.execute(q)}
    assert rows == {"gone@example.kr": "deleted", "bounced@example.kr": "hard_bounce"}
