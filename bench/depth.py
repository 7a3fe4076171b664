"""What a /metrics scrape costs the database at a million outbox rows: the outbox's depth by
status (store/stats.outbox_depth, one count per status on its partial index) beside the one
scan grouped by status and kind it replaced (store/outbox.status_counts, which `publisher
outbox status` still uses for its per-kind table), in one run.

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

    from publisher.store import outbox, stats
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
    with engine.connect() as conn:
        now = best_ms(lambda: stats.outbox_depth(conn))
        scan = best_ms(lambda: outbox.status_counts(conn))
        depth = stats.outbox_depth(conn)
    engine.dispose()
    print(f"{name:10s} depth by status {now:7.1f} ms; one scan by status and kind {scan:7.1f} ms; "
          f"ratio {now / scan:.2f}  {depth}")  # fmt: skip


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
