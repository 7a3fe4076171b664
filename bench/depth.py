"""What a /metrics scrape and `publisher status` cost the database at a million outbox rows,
each beside the query it replaced, in one run:
- the outbox's depth by status (store/stats.outbox_depth, one count per status on its partial
  index) beside the scan grouped by status and kind (store/outbox.status_counts, which
  `publisher outbox status` still uses for its per-kind table);
- one digest run's counts by status (store/digest_runs.outbox_counts, through the run's
  contents), as `publisher status` asks for each run it lists, beside a LIKE on the dedupe
  key alone (the old query). The run is 10,000 rows among the million;
- the lookups by address that every unsubscribe (cancelling what still waits for the reader)
  and every inbound report matched by address make, with the index on ``lower(recipient)``
  (migration 0020) beside the plain recipient index it replaced;
- the lookups by Message-ID that an inbound report or a sending service's event makes
  (migration 0021): a copy sent since (its row's id in it: the primary key) and one of the
  run's rows stored as before 0021 (the partial index of those alone), beside the plain
  comparison of the column that each made before (no index: the whole outbox).

    PYTHONPATH=. python bench/depth.py [--rows 1000000]

A tenth of the rows stay queued, the rest are marked sent (one UPDATE; on PostgreSQL then
VACUUM ANALYZE, as autovacuum would). Best of three, in ms. PostgreSQL is started from
Debian's binaries when they are present.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drainkit as kit


def best_ms(call: Callable[[], Any]) -> float:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def measure(name: str, url: str, rows: int) -> None:
    from sqlalchemy import text

    from publisher.store import digest_runs, outbox, stats
    from publisher.store.db import make_engine

    kit.fill(url, rows)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'sent' WHERE id % 10 <> 0"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE outbox")
            )
    one_run(engine)
    with engine.connect() as conn:
        now = best_ms(lambda: stats.outbox_depth(conn))
        scan = best_ms(lambda: outbox.status_counts(conn))
        depth = stats.outbox_depth(conn)
        run_now = best_ms(lambda: digest_runs.outbox_counts(conn, RUN))
        run_like = best_ms(lambda: conn.execute(LIKE_ONLY).all())
        counts = digest_runs.outbox_counts(conn, RUN)
        by_address = best_ms(lambda: address_lookups(conn))
        conn.execute(text("DROP INDEX ix_outbox_recipient_lower"))
        conn.execute(text("CREATE INDEX ix_outbox_recipient ON outbox (recipient)"))
        by_address_before = best_ms(lambda: address_lookups(conn))
        conn.rollback()
        by_id, by_id_before = message_id_lookups(conn, rows)
    engine.dispose()
    print(f"{name:10s} by Message-ID {by_id:10.2f} ms; the column compared {by_id_before:8.1f} ms; "
          f"ratio {by_id / by_id_before:.4f}")  # fmt: skip
    print(f"{name:10s} by address {by_address:12.1f} ms; with the plain recipient index "
          f"{by_address_before:8.1f} ms; ratio {by_address / by_address_before:.2f}")  # fmt: skip
    print(f"{name:10s} depth by status {now:7.1f} ms; one scan by status and kind {scan:7.1f} ms; "
          f"ratio {now / scan:.2f}  {depth}")  # fmt: skip
    print(f"{name:10s} a run's counts {run_now:8.1f} ms; a LIKE on the dedupe key {run_like:8.1f} "
          f"ms; ratio {run_now / run_like:.2f}  {counts}")  # fmt: skip


RUN = "digest:morning:7:"


def address_lookups(conn: Any) -> None:
    """An unsubscribe's cancel and an inbound match, for an address with no rows (the worst
    case: nothing stops a scan early). Rolled back by the caller."""
    from datetime import UTC, datetime

    from publisher.store import inbound, outbox

    now = datetime.now(UTC)
    nobody = ["Nobody@Example.kr"]
    outbox.cancel_queued(conn, nobody, kinds=["digest"], now=now, reason="unsubscribed")
    inbound.last_sent_to(conn, nobody)


def message_id_lookups(conn: Any, last: int) -> tuple[float, float]:
    """A copy sent since 0021 and one stored before it, each looked up as a report quoting
    it is, then by the column alone (the query before 0021), in ms."""
    from sqlalchemy import select

    from publisher.core import messageids
    from publisher.store import inbound
    from publisher.store.schema import outbox

    row = select(outbox.c.id, outbox.c.message_id)
    newest = conn.execute(row.where(outbox.c.id == last)).one()  # the fill's last row
    old = conn.execute(row.where(outbox.c.dedupe_key == f"{RUN}5000")).one()
    mids = {newest.id: messageids.sent(newest.message_id, newest.id), old.id: old.message_id}
    assert all(inbound.outbox_by_message_id(conn, m).id == i for i, m in mids.items())  # type: ignore[union-attr]
    now = best_ms(lambda: [inbound.outbox_by_message_id(conn, m) for m in mids.values()])
    # Both rows are among the last written: the scan reads about the whole outbox, as it did
    # for every Message-ID that was not ours.
    by_column = [select(outbox.c.id).where(outbox.c.message_id == m)
                 for m in (newest.message_id, old.message_id)]  # fmt: skip
    before = best_ms(lambda: [conn.execute(q).first() for q in by_column])
    return now, before


def one_run(engine: Any) -> None:
    """10,000 rows of one digest run, on its two variants' contents, as the fan-out makes."""
    from sqlalchemy import bindparam, select, update

    from publisher.core.clock import SystemClock
    from publisher.messages.enqueue import NewMessage, enqueue, store_content
    from publisher.store.schema import outbox

    now = SystemClock().now()
    with engine.begin() as conn:
        for variant, readers in (("all", range(0, 6000)), ("politics", range(6000, 10000))):
            cid = store_content(conn, key=f"{RUN}{variant}", kind="digest", body=kit.body(),
                                now=now)  # fmt: skip
            enqueue(conn, (NewMessage(dedupe_key=f"{RUN}{r}", kind="digest",
                                      recipient=f"run{r}@example.kr", content_id=cid)
                           for r in readers), now=now, domain="example.kr")  # fmt: skip
        # The run's rows as stored before migration 0021: "<" + 32 hex digits + "@…".
        ours = select(outbox.c.id, outbox.c.message_id).where(outbox.c.dedupe_key.like(f"{RUN}%"))
        old = [{"i": i, "m": m.replace(".0@", "@")} for i, m in conn.execute(ours)]
        by_id = update(outbox).where(outbox.c.id == bindparam("i"))
        conn.execute(by_id.values(message_id=bindparam("m")), old)


def _like_only() -> Any:
    from sqlalchemy import func, select

    from publisher.store.schema import outbox

    return (
        select(outbox.c.status, func.count())
        .where(outbox.c.dedupe_key.like(f"{RUN}%", escape="\\"))
        .group_by(outbox.c.status)
    )


LIKE_ONLY = _like_only()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", f"sqlite:///{tmp}/depth.db", args.rows)
    with kit.postgres() as server:
        if server is None:
            print("PostgreSQL binaries not found under /usr/lib/postgresql: SQLite only")
            return
        measure("postgresql", server.new_database(), args.rows)


if __name__ == "__main__":
    main()
