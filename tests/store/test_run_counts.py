"""A digest run's (or an alert's) outbox counts read the run's rows only, through its contents:
never the whole outbox, once per run that `publisher status` or the console lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event

from publisher.core.clock import FixedClock
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.store import clicks, digest_runs
from publisher.store import outbox as store_outbox
from publisher.store.schema import suppressions

BODY = b"Subject: x\r\n\r\nhello\r\n"


def _run(engine: Engine, clock: FixedClock, prefix: str, variants: dict[str, list[int]]) -> None:
    """Rows ``prefix<reader>`` for each variant's readers, on contents ``prefix<variant>``."""
    now = clock.now()
    with engine.begin() as conn:
        for variant, readers in variants.items():
            cid = store_content(conn, key=f"{prefix}{variant}", kind="digest", body=BODY, now=now)
            enqueue(conn, [
                NewMessage(dedupe_key=f"{prefix}{r}", kind="digest", recipient=f"r{r}@example.kr",
                           content_id=cid)
                for r in readers
            ], now=now, domain="example.kr")  # fmt: skip


def _fill(engine: Engine, clock: FixedClock) -> None:
    _run(engine, clock, "digest:morning:1:", {"all": [1, 2, 3], "politics": [4, 5]})
    _run(engine, clock, "digest:morning:11:", {"all": [1, 2, 6, 7]})  # a longer run id
    _run(engine, clock, "digest:evening:1:", {"all": [1]})  # another digest, same run id
    _run(engine, clock, "alert:1:", {"": [1, 2]})  # an alert: its content key is the prefix
    now = clock.now()
    with engine.begin() as conn:  # one row of the first run sent, one failed
        got = store_outbox.claim(conn, owner="me", now=now, lease_until=now + timedelta(minutes=5),
                                 limit=2)  # fmt: skip
        store_outbox.set_final(conn, [got[0].id], status="sent", now=now)
        store_outbox.set_final(conn, [got[1].id], status="failed", now=now, reply="550 no")
        conn.execute(suppressions.insert().values(
            email="r2@example.kr", scope="all", reason="hard_bounce", detail="", created_at=now,
        ))  # fmt: skip


def test_counts_are_the_runs_own(any_engine: Engine, clock: FixedClock) -> None:
    _fill(any_engine, clock)
    with any_engine.connect() as conn:
        assert digest_runs.outbox_counts(conn, "digest:morning:1:") == {
            "sent": 1, "failed": 1, "queued": 3,
        }  # fmt: skip
        assert digest_runs.outbox_counts(conn, "digest:morning:11:") == {"queued": 4}
        assert digest_runs.outbox_counts(conn, "digest:evening:1:") == {"queued": 1}
        assert digest_runs.outbox_counts(conn, "alert:1:") == {"queued": 2}
        assert digest_runs.outbox_counts(conn, "digest:morning:2:") == {}
        since = clock.now() - timedelta(days=1)
        assert clicks.run_suppressions(conn, "digest:morning:1:", since) == {"hard_bounce": 1}
        assert clicks.run_suppressions(conn, "digest:evening:1:", since) == {}


def test_counts_never_scan_the_outbox(tmp_path: Any, clock: FixedClock) -> None:
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    _fill(engine, clock)
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((stmt, params))

    event.listen(engine, "before_cursor_execute", grab)
    with engine.connect() as conn:
        digest_runs.outbox_counts(conn, "digest:morning:1:")
        clicks.run_suppressions(conn, "digest:morning:1:", clock.now())
    event.remove(engine, "before_cursor_execute", grab)
    assert len([s for s, _ in seen if "FROM outbox" in s]) == 2
    with engine.connect() as conn:
        for stmt, params in [(s, p) for s, p in seen if "FROM outbox" in s]:
            plan = " / ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {stmt}", params)
            )
            assert "SCAN outbox" not in plan and "ix_outbox_content" in plan, plan
    engine.dispose()
