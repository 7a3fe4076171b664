"""The store's side of a message alone: a claim of 500 rows, then marks of 64, per message, on
the outbox as it is and, in the same run, with its indexes as they were before migration 0019
(the baseline: the two that every claim and mark rewrote, and not the one 0019 added).

    PYTHONPATH=. python bench/claimmark.py [--rows 100000] [--runs 2]

No relay and no event loop: the drain's database thread does this work, and bench/deliver.py
prints that thread's CPU per message in a real drain. Each run fills a fresh outbox per
database and variant (bench/drainkit.py, the same 36 KB digest rows), then claims and marks
until none is left. PostgreSQL is started from Debian's binaries when they are present.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drainkit as kit

# The outbox's indexes as they were before migration 0019: the two it dropped, as 0002 and
# 0012 had made them, and without the one it added.
BEFORE_0019 = (
    "CREATE INDEX ix_outbox_status_next ON outbox (status, next_attempt_at)",
    "CREATE INDEX ix_outbox_updated_at ON outbox (updated_at)",
    "DROP INDEX ix_outbox_ended",
)
CLAIM, MARK = 500, 64


def per_message(url: str, rows: int, extra: tuple[str, ...]) -> float:
    """µs of claim and marks per message on a fresh outbox of ``rows`` at ``url``."""
    from sqlalchemy import text

    from publisher.core.clock import SystemClock
    from publisher.store import outbox
    from publisher.store.db import make_engine

    kit.fill(url, rows)
    engine = make_engine(url)
    with engine.begin() as conn:
        for ddl in extra:
            conn.execute(text(ddl))
    now = SystemClock().now() + timedelta(seconds=1)
    done, t0 = 0, time.perf_counter()
    while True:
        with engine.begin() as conn:
            got = outbox.claim(conn, owner="bench", now=now, lease_until=now + timedelta(minutes=5),
                               limit=CLAIM)  # fmt: skip
        if not got:
            break
        ids = [r.id for r in got]
        for first in range(0, len(ids), MARK):
            with engine.begin() as conn:
                outbox.set_final(conn, ids[first : first + MARK], status="sent", now=now)
        done += len(ids)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return 1e6 * seconds / max(done, 1)


def measure(name: str, new_url: Callable[[], str], rows: int, runs: int) -> None:
    now_us, before_us = [], []
    for _ in range(runs):
        now_us.append(per_message(new_url(), rows, ()))
        before_us.append(per_message(new_url(), rows, BEFORE_0019))
    now_m, before_m = statistics.median(now_us), statistics.median(before_us)
    print(f"{name:10s} now {' '.join(f'{u:.1f}' for u in now_us)} µs/msg; before 0019 "
          f"{' '.join(f'{u:.1f}' for u in before_us)} µs/msg; now / before "
          f"{now_m / before_m:.2f} (medians)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000_000))
        measure("sqlite", lambda: f"sqlite:///{tmp}/o{next(counter)}.db", args.rows, args.runs)
    with kit.postgres() as server:
        if server is None:
            print("PostgreSQL binaries not found under /usr/lib/postgresql: SQLite only")
            return
        measure("postgresql", server.new_database, args.rows, args.runs)


if __name__ == "__main__":
    main()
