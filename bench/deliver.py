"""Delivery speed against Postfix's smtp-sink: our drain on SQLite and PostgreSQL, beside
smtp-source and plain aiosmtplib, in one run.

    PYTHONPATH=. python bench/deliver.py [--rows 100000] [--runs 3]
        [--databases sqlite,postgresql] [--purge] [--profile drain.prof] [--stalls]
        [--memory-claims] [--db-priority background|normal] [--relay-core]
        [--event-loop uvloop|asyncio]

Our figure is end to end: claim → personalise (a ~36.5 KB digest, 30 per-reader values) →
send (8 pipelined connections) → mark sent, on a real outbox, in a child process
(bench/drainkit.py) so that its CPU and peak RSS are its own. Each run fills a fresh outbox
per database, drains it, then times ``smtp-source -d -s 8`` with the same size to the same
sink; the ratios are per run and their median. With 200,000 rows or more each drain prints
its rate per 100,000 (the sustained target: the last within 10 % of the first). ``--purge``
then deletes the sent rows with ``publisher outbox purge`` while another connection keeps
claiming, and says how long the claims waited. ``--stalls`` prints how long the drain's
event loop stalled (over 2 ms) and which database calls ran meanwhile (bench/stalls.py).
``--memory-claims`` (a diagnostic) claims every row before the drain's clock starts and
runs the drain with no database work (bench/memclaims.py): its ceiling on this machine.
``--db-priority background`` runs the drains' database thread as the setting
``db_thread_priority = "background"`` does (default: normal, as the setting's), and
``--event-loop asyncio`` runs them on asyncio's own loop (default: uvloop, as the setting
``event_loop``'s).
Beside each rate it prints how busy the relay was, and how long it waited for a CPU:
smtp-sink is one process, and under smtp-source it uses a whole core, so the ratio to
smtp-source is about the share of that core the drain leaves it. ``--relay-core`` gives the
relay CPU 0 to itself and puts the drains, the databases and smtp-source on the other CPUs,
as if the relay ran on a machine of its own.
PostgreSQL is started from Debian's binaries (tests/pgserver.py); without them, only SQLite
runs, and the script says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drainkit as kit


async def baseline(port: int, rows: int) -> float:
    """Plain aiosmtplib: 8 clients, one message at a time each, no database."""
    import aiosmtplib

    message = kit.body()
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(kit.POOL)]
    await asyncio.gather(*(c.connect() for c in clients))

    async def run(client: aiosmtplib.SMTP, share: int) -> None:
        for i in range(share):
            await client.sendmail("bounces@news.example.kr", [f"r{i}@example.kr"], message)

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c, rows // kit.POOL) for c in clients))
    rate = (rows // kit.POOL * kit.POOL) / (time.perf_counter() - t0)
    for c in clients:
        c.close()
    return rate


def smtp_source(sink: kit.Sink, rows: int) -> tuple[float, str]:
    """smtp-source's rate, and how busy the relay was meanwhile."""
    cmd = [kit.SOURCE, "-d", "-s", str(kit.POOL), "-l", str(kit.SIZE), "-m", str(rows),
           f"127.0.0.1:{sink.port}"]  # fmt: skip
    before, t0 = sink.times(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    return rows / seconds, relay_busy(before, sink.times(), seconds)


def relay_busy(before: tuple[float, float], after: tuple[float, float], seconds: float) -> str:
    """The relay's shares of a phase: running, and runnable but waiting for a CPU."""
    run, wait = ((b - a) / seconds for a, b in zip(before, after, strict=True))
    return f"relay busy {100 * run:.0f} %, waiting for a CPU {100 * wait:.0f} %"


def database_url(name: str, server: Any, workdir: Path, run: int) -> str:
    if name == "postgresql":
        return str(server.new_database())
    return kit.sqlite_url(workdir, f"bench{run}.db")


def claims_during(url: str, stop: threading.Event, waits: list[float]) -> None:
    """Claim (and hand back) a few queued rows every 20 ms until ``stop``; record each wait."""
    from publisher.core.clock import SystemClock
    from publisher.store import outbox as store_outbox
    from publisher.store.db import make_engine

    engine, clock = make_engine(url), SystemClock()
    while not stop.is_set():
        t0 = time.perf_counter()
        with engine.begin() as conn:
            now = clock.now()
            rows = store_outbox.claim(conn, owner="bench-claimer", now=now, lease_until=now,
                                      limit=10)  # fmt: skip
            store_outbox.release(conn, [r.id for r in rows], now=now)
        waits.append(time.perf_counter() - t0)
        stop.wait(0.02)
    engine.dispose()


def purge_step(name: str, url: str, rows: int) -> None:
    """``outbox purge`` of the sent rows while claims go on; prints time and claim waits."""
    kit.fill(url, 2000, start=rows)  # live rows for the claimer
    time.sleep(1.1)  # the sent rows are then older than --older-than 1s
    stop, waits = threading.Event(), list[float]()
    claimer = threading.Thread(target=claims_during, args=(url, stop, waits))
    claimer.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(PYTHONPATH=str(kit.ROOT), PUBLISHER_DEMO="true", PUBLISHER_DATABASE_URL=url)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "publisher", "outbox", "purge", "--older-than", "1s"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    stop.set()
    claimer.join()
    if done.returncode != 0:
        sys.exit(f"outbox purge failed: {done.stderr[-2000:]}")
    print(
        f"  {name:<10} purge      {seconds:6.1f} s  ({done.stdout.strip()}); "
        f"{len(waits)} claims meanwhile, longest {1000 * max(waits, default=0):.0f} ms "
        f"(target ≤ 30 s, claims not blocked)"
    )


def one_run(run: int, names: list[str], server: Any, sink: kit.Sink, args: argparse.Namespace,
            workdir: Path) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    for name in names:
        url = database_url(name, server, workdir, run)
        filled = kit.fill(url, args.rows)
        profile = args.profile if args.profile and name == names[0] and run == 0 else ""
        db_cpu = kit.server_cpu(server if name == "postgresql" else None)
        sink_times = sink.times()
        got = kit.run_child(url, sink.port, profile=profile, rows=args.rows)
        db_cpu = kit.server_cpu(server if name == "postgresql" else None) - db_cpu
        got["rate"] = got["sent"] / got["seconds"]
        busy = relay_busy(sink_times, sink.times(), got["seconds"])
        out[name] = got
        sent = max(got["sent"], 1)
        server_part = f" + server {1000 * db_cpu / sent:.3f}" if db_cpu else ""
        print(f"  {name:<10} drain  {got['rate']:8.0f} msg/s  ({got['sent']} rows, "
              f"{1000 * got['cpu'] / sent:.3f}{server_part} ms CPU/msg, peak RSS "
              f"{got['rss_mb']:.0f} MB; filled in {filled:.1f} s); {busy}")  # fmt: skip
        if got.get("stalls"):
            print(f"  {name:<10} {got['stalls']}")
        if got.get("threads"):
            per = {k: 1e6 * v / sent for k, v in got["threads"].items()}
            print(f"  {name:<10} CPU per message: event loop {per['loop']:.0f} µs, database "
                  f"thread {per['db']:.0f} µs")  # fmt: skip
        if got["per_100k"]:
            rates = got["per_100k"]
            print(f"  {name:<10} per 100k " + " ".join(f"{r:.0f}" for r in rates)
                  + f"  (last/first {rates[-1] / rates[0]:.2f}, target ≥ 0.90)")  # fmt: skip
        if args.purge and run == args.runs - 1:
            purge_step(name, url, args.rows)
    if args.no_source:
        out["source"] = float("nan")
        return out
    out["source"], busy = smtp_source(sink, args.rows)
    print(f"  smtp-source -d -s 8   {out['source']:8.0f} msg/s  ({busy})")
    return out


def summary(runs: list[dict[str, Any]], names: list[str], base: float) -> None:
    print(f"message size          {len(kit.body())} bytes, {kit.POOL} connections, "
          f"{len(runs)} run(s)")  # fmt: skip
    for name in names:
        rates = [r[name]["rate"] for r in runs]
        ratios = [r[name]["rate"] / r["source"] for r in runs]
        print(f"{name:<10} drain      {statistics.median(rates):8.0f} msg/s median; to "
              f"smtp-source " + " ".join(f"{x:.2f}" for x in ratios)
              + f", median {statistics.median(ratios):.2f} (target ≥ 1.0 on SQLite)")  # fmt: skip
    print(f"smtp-source           {statistics.median(r['source'] for r in runs):8.0f} msg/s median")
    print(f"plain aiosmtplib x8   {base:8.0f} msg/s")
    if {"sqlite", "postgresql"} <= set(names):
        ratios = [r["postgresql"]["rate"] / r["sqlite"]["rate"] for r in runs]
        print("postgresql/sqlite     " + " ".join(f"{x:.2f}" for x in ratios)
              + f", median {statistics.median(ratios):.2f} (target ≥ 0.90)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--databases", default="", help="sqlite,postgresql (default: both, "
                        "PostgreSQL when its binaries exist)")  # fmt: skip
    parser.add_argument("--purge", action="store_true", help="then purge the sent rows")
    parser.add_argument("--no-source", action="store_true", help="skip smtp-source (1M runs)")
    parser.add_argument("--profile", default="", help="cProfile the first drain to this file")
    parser.add_argument("--stalls", action="store_true",
                        help="trace the drain's event-loop stalls (bench/stalls.py)")  # fmt: skip
    parser.add_argument("--memory-claims", action="store_true",
                        help="diagnostic: no database work when draining")  # fmt: skip
    parser.add_argument("--db-priority", choices=("background", "normal"), default="normal",
                        help="the setting db_thread_priority for the drains (its default: "
                        "normal)")  # fmt: skip
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the setting event_loop for the drains (default: uvloop)")  # fmt: skip
    parser.add_argument("--relay-core", action="store_true",
                        help="the relay (smtp-sink) alone on CPU 0, everything else on the "
                        "other CPUs, as if it ran on its own machine")  # fmt: skip
    args = parser.parse_args()
    os.environ["DRAINKIT_EVENT_LOOP"] = args.event_loop  # read by the drain child
    if args.relay_core:
        if len(os.sched_getaffinity(0)) < 2:
            sys.exit("--relay-core needs two CPUs or more")
        os.environ["DRAINKIT_RELAY_CORE"] = "1"  # read by bench/drainkit.py (the sink)
        # This process and all it starts (drains, PostgreSQL, smtp-source) inherit the mask.
        os.sched_setaffinity(0, set(os.sched_getaffinity(0)) - {0})
    os.environ["DRAINKIT_DB_PRIORITY"] = args.db_priority  # read by the drain child
    if args.stalls:
        os.environ["DRAINKIT_STALLS"] = "1"  # read by the drain child
    if args.memory_claims:
        os.environ["DRAINKIT_MEMORY_CLAIMS"] = "1"
    if not kit.have_postfix_tools():
        sys.exit("smtp-sink/smtp-source not found: apt-get install postfix (don't start it)")
    names = [n for n in (args.databases or "sqlite,postgresql").split(",") if n]
    with tempfile.TemporaryDirectory() as tmp, kit.postgres() as server:
        if server is None and "postgresql" in names:
            print("PostgreSQL binaries not found under /usr/lib/postgresql: SQLite only")
            names.remove("postgresql")
        sink = kit.Sink()
        try:
            runs = []
            for run in range(args.runs):
                print(f"run {run + 1}:")
                runs.append(one_run(run, names, server, sink, args, Path(tmp)))
            base = asyncio.run(baseline(sink.port, args.baseline_rows))
        finally:
            sink.stop()
    summary(runs, names, base)


if __name__ == "__main__":
    main()
