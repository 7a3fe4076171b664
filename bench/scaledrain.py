"""Two drains on one PostgreSQL, as two instances would run them: do they add up?

    PYTHONPATH=. python bench/scaledrain.py [--rate 2000] [--seconds 10] [--unpaced-rows 30000]
        [--unpaced-runs 3] [--event-loop uvloop|asyncio]

Each drain is its own process with its own relay (an smtp-sink of its own) and the same
outbox. Capped: one drain at ``delivery_rate`` alone, then two together on twice the rows;
the pair should reach 1.9× the one (this machine's two cores, shared by the sinks, the
database and the drains, cannot show unpaced scale-out). Each sink of the pair records its
transactions (smtp-sink -D) and the recipients are counted: none twice, none missing.
Unpaced: one drain, then two, and the CPU each spends per message (target: the pair ≤ 1.1×
the one, i.e. no contention on claims or marks), ``--unpaced-runs`` times (default 3) and
the median; the capped pair's CPU per message beside the capped one's too (each drain at
the same rate there). Each split into claims and marks (the drains' database threads and
the PostgreSQL server) and the event loops. Needs the PostgreSQL binaries
(/usr/lib/postgresql/*/bin) and Postfix's smtp-sink.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drainkit as kit


def pair(url: str, sinks: list[kit.Sink], rate: float) -> list[dict[str, Any]]:
    """Run one drain per sink on ``url`` at the same time; their reports."""
    procs = [kit.start_child(url, s.port, rate=rate) for s in sinks]
    return [kit.finish_child(p) for p in procs]


def tally(sinks: list[kit.Sink], rows: int) -> tuple[int, int, list[int]]:
    """(recipients received twice or more, recipients missing, messages per sink)."""
    per_sink = [s.recipients() for s in sinks]
    received: Counter[str] = sum(per_sink, Counter())
    expected = {f"reader{i}@example.kr" for i in range(rows)}
    twice = sum(n - 1 for n in received.values() if n > 1)
    return twice, len(expected - set(received)), [sum(c.values()) for c in per_sink]


def statuses(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from publisher.store.db import make_engine
    from publisher.store.schema import outbox

    engine = make_engine(url)
    with engine.connect() as conn:
        q = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        found = {str(s): int(n) for s, n in conn.execute(q)}
    engine.dispose()
    return found


def step(server: Any, sinks: list[kit.Sink], rows: int, rate: float) -> dict[str, Any]:
    url = server.new_database()
    kit.fill(url, rows)
    t0, server0 = time.perf_counter(), kit.server_cpu(server)
    reports = pair(url, sinks, rate)
    wall, server_cpu = time.perf_counter() - t0, kit.server_cpu(server) - server0
    sent = sum(r["sent"] for r in reports)
    out = {
        "sent": sent,
        "rate": sent / max(r["seconds"] for r in reports),
        "cpu_per_msg": sum(r["cpu"] for r in reports) / max(sent, 1),
        "wall": wall,
        "statuses": statuses(url),
        "each": [round(r["sent"] / r["seconds"]) for r in reports],
        # Event loop and database thread apart: contention on claims or marks would show in
        # the database thread's share, an oversubscribed machine in the loop's.
        "loop": sum(r["threads"].get("loop", 0) for r in reports) / max(sent, 1),
        "db": sum(r["threads"].get("db", 0) for r in reports) / max(sent, 1),
        # On PostgreSQL the claims and marks run mostly in the server: its CPU (backends,
        # WAL writer, checkpointer, autovacuum) is where contention between drains would show.
        "server": server_cpu / max(sent, 1),
    }
    out["database"] = out["db"] + out["server"]
    out["twice"], out["missing"], out["per_sink"] = tally(sinks, rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=10, help="of a capped drain's work")
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the setting event_loop for the drains (default: uvloop)")  # fmt: skip
    parser.add_argument("--unpaced-rows", type=int, default=30_000, help="per drain")
    parser.add_argument("--unpaced-runs", type=int, default=3,
                        help="one drain then two, this many times: the ratio's median")  # fmt: skip
    args = parser.parse_args()
    os.environ["DRAINKIT_EVENT_LOOP"] = args.event_loop  # read by the drain child
    if not kit.have_postfix_tools():
        sys.exit("smtp-sink not found: apt-get install postfix (don't start it)")
    capped_rows = int(args.rate * args.seconds)
    # The dumps go to memory (tmpfs) where there is one: written to disk at 150 MB/s they
    # would cost the sinks more than the drains cost.
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp, kit.postgres() as server:
        if server is None:
            print("PostgreSQL binaries not found under /usr/lib/postgresql: nothing to measure")
            return
        sinks = [kit.Sink(Path(tmp)), kit.Sink(Path(tmp))]
        try:
            one = step(server, sinks[:1], capped_rows, args.rate)
            two = step(server, sinks, 2 * capped_rows, args.rate)
            # Unpaced, a drain's CPU per message swings by a tenth from run to run (how many
            # replies each wake of its loop finds): the ratio is a median of pairs of runs.
            unpaced = [
                (step(server, sinks[:1], args.unpaced_rows, 0),
                 step(server, sinks, 2 * args.unpaced_rows, 0))
                for _ in range(args.unpaced_runs)
            ]  # fmt: skip
        finally:
            for s in sinks:
                s.stop()
    report(args.rate, one, two)
    for one_u, two_u in unpaced:
        report_unpaced(one_u, two_u)
    ratios = [b["cpu_per_msg"] / a["cpu_per_msg"] for a, b in unpaced]
    print(f"unpaced CPU per message, pair / one: {' · '.join(f'{r:.2f}' for r in ratios)}, "
          f"median {statistics.median(ratios):.2f} (target ≤ 1.10)")  # fmt: skip
    claims = [b["database"] / a["database"] for a, b in unpaced]
    print(f"  of which claims and marks: {' · '.join(f'{r:.2f}' for r in claims)}, median "
          f"{statistics.median(claims):.2f}")  # fmt: skip


def report(rate: float, one: dict[str, Any], two: dict[str, Any]) -> None:
    print(f"message size {len(kit.body())} bytes, {kit.POOL} connections per drain, PostgreSQL")
    print(f"one drain capped at {rate:.0f}/s     {one['rate']:8.0f} msg/s  ({one['sent']} rows; "
          f"sent twice {one['twice']}, missing {one['missing']})")  # fmt: skip
    print(f"two drains capped at {rate:.0f}/s    {two['rate']:8.0f} msg/s  ({two['sent']} rows; "
          f"each {two['each']}/s; sinks got {two['per_sink']})")  # fmt: skip
    print(f"  together / one               {two['rate'] / one['rate']:8.2f}  (target ≥ 1.90, "
          f"≥ {1.9 * rate:.0f} msg/s)")  # fmt: skip
    print(f"  sent twice {two['twice']}, missing {two['missing']}, outbox {two['statuses']}")
    print(f"  CPU per message, pair / one  {two['cpu_per_msg'] / one['cpu_per_msg']:8.2f}  "
          f"({1000 * one['cpu_per_msg']:.3f} → {1000 * two['cpu_per_msg']:.3f} ms; each drain "
          f"at the same rate)")  # fmt: skip
    parts(one, two)


def report_unpaced(one_u: dict[str, Any], two_u: dict[str, Any]) -> None:
    print(f"one drain unpaced              {one_u['rate']:8.0f} msg/s  "
          f"{1000 * one_u['cpu_per_msg']:.3f} ms CPU/msg")  # fmt: skip
    print(f"two drains unpaced             {two_u['rate']:8.0f} msg/s  "
          f"{1000 * two_u['cpu_per_msg']:.3f} ms CPU/msg (each {two_u['each']}/s)")  # fmt: skip
    print(f"  CPU per message, pair / one  {two_u['cpu_per_msg'] / one_u['cpu_per_msg']:8.2f}  "
          f"(target ≤ 1.10)")  # fmt: skip
    parts(one_u, two_u)
    print(f"  sent twice {two_u['twice']}, missing {two_u['missing']}, outbox {two_u['statuses']}")


def parts(one: dict[str, Any], two: dict[str, Any]) -> None:
    """Where a message's CPU goes, one drain beside the pair."""
    named = (
        ("database", "claims and marks (database thread + server)"),
        ("db", "  the drains' database threads"),
        ("server", "  the PostgreSQL server"),
        ("loop", "event loop (not counted above)"),
    )
    for part, name in named:
        print(f"    {name}: {1e6 * one[part]:.0f} µs → {1e6 * two[part]:.0f} µs per message, "
              f"pair / one {two[part] / max(one[part], 1e-9):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
