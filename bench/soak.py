"""Soak test: the delivery engine under every fault at once, counted message by message.

    PYTHONPATH=. .venv/bin/python bench/soak.py [--messages 50000] [--database postgresql]

Loopback only. A fault-injecting aiosmtpd relay (bench/soakrelay.py: drops mid-DATA, replies
hidden or never sent, slow final replies, 421 then close, 4xx refusals, 550 5.1.1 for a fixed
set of recipients) receives what ``publisher deliver`` (a subprocess, restarted whenever it
ends) drains from a real outbox, filled at a steady rate while it runs. Every
``--fault-every`` accepted messages (on average) the script injects one of: SIGTERM to the
drain, kill -9 of the drain, ``pg_ctl restart -m fast``. It stops by itself once the outbox is
drained (or at ``--seconds``) and prints lost (must be 0), duplicates per fault, the longest
wait from enqueue to the relay's acceptance, and the totals; bench/soaktally.py says how each
figure is counted. Exit status 1 if anything was lost, left undrained, wrongly suppressed or
sent with another row's Message-ID.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # publisher, tests

from soakdrain import DrainSettings, Supervisor
from soakrelay import FaultRelay, Faults
from soaktally import HIDDEN_REPLY, Row, Tally, count
from sqlalchemy import Engine, select

from publisher.core import messageids
from publisher.core.clock import SystemClock
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.store import outbox as store_outbox
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from publisher.store.schema import outbox, suppressions
from tests.outboxkit import BODY  # the suite's small digest

INJECTABLE = ("sigterm", "kill9", "pg_restart")


def recipient(i: int) -> str:
    return f"user{i}@example.kr"


def retrying(fn: Any, deadline: float) -> Any:
    """Call ``fn`` until it works (the database may be restarting) or the deadline passes."""
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class Producer(threading.Thread):
    """Enqueues the messages in batches at ``rate`` per second (0: all at once), like digests."""

    def __init__(self, engine: Engine, n: int, rate: float, deadline: float) -> None:
        super().__init__(daemon=True)
        self.engine, self.n, self.rate, self.deadline = engine, n, rate, deadline
        self.batch = max(1, min(1000, int(rate / 4))) if rate > 0 else 5000
        self.enqueued_at: dict[str, float] = {}
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        engine = self.engine
        try:
            cid = retrying(lambda: self._content(engine), self.deadline)
            t0 = time.monotonic()
            for start in range(0, self.n, self.batch):
                if self.rate > 0:
                    time.sleep(max(0.0, t0 + start / self.rate - time.monotonic()))
                ids = range(start, min(self.n, start + self.batch))
                at = time.time()  # before the first try: a retried batch counts its wait
                retrying(lambda ids=ids: self._enqueue(engine, cid, ids), self.deadline)
                self.enqueued_at.update((recipient(i), at) for i in ids)
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    @staticmethod
    def _content(engine: Engine) -> int:
        with engine.begin() as conn:
            return store_content(conn, key="soak:v1", kind="digest", body=BODY,
                                 now=SystemClock().now())  # fmt: skip

    @staticmethod
    def _enqueue(engine: Engine, cid: int, ids: range) -> None:
        # An existing dedupe key is left alone, so a batch retried after a lost commit is safe.
        with engine.begin() as conn:
            enqueue(conn, [
                NewMessage(dedupe_key=f"digest:soak:subscriber:{i}", kind="digest",
                           recipient=recipient(i), content_id=cid,
                           substitutions={"%%TO%%": recipient(i), "%%NAME%%": f"독자{i}",
                                          "%%UNSUBSCRIBE_URL%%": f"https://news.example.kr/u/{i}"})
                for i in ids
            ], now=SystemClock().now(), domain="news.example.kr")  # fmt: skip


def pending(engine: Engine) -> int | None:
    """Rows not finished yet (queued, deferred, sending); None while the database is down."""
    try:
        with engine.connect() as conn:
            counts = store_outbox.status_counts(conn)
    except Exception:
        return None
    return sum(n for s, _k, n in counts if s in ("queued", "deferred", "sending"))


def final_state(engine: Engine) -> tuple[list[Row], list[str]]:
    with engine.connect() as conn:
        q = select(outbox.c.id, outbox.c.recipient, outbox.c.message_id, outbox.c.status)
        # The Message-ID each row is sent with: its stored value with its id put in.
        rows = [Row(r, messageids.sent(m, i), s) for i, r, m, s in conn.execute(q)]
        emails = [e for (e,) in conn.execute(select(suppressions.c.email))]
    return rows, emails


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        n = args.messages
        step = max(1, n // max(1, args.unknown))
        self.unknown = (
            frozenset(recipient(i) for i in range(step // 2, n, step))
            if args.unknown
            else frozenset()
        )
        self.faults = Faults(unknown=self.unknown).scaled(args.fault_scale)
        self.drain = DrainSettings()
        self.kinds = [k for k in args.faults if k != "pg_restart" or args.database == "postgresql"]
        self.events: list[tuple[float, str]] = []
        self.injected: Counter[str] = Counter()
        self.pg: Any = None
        self._order: list[str] = []  # each kind once per round, in a random order
        self.producer_error = ""

    def run(self) -> dict[str, Any]:
        args = self.args
        deadline = time.monotonic() + args.seconds
        with ExitStack() as stack:
            tmp = str(args.workdir) if args.workdir else stack.enter_context(
                tempfile.TemporaryDirectory(prefix="soak-"))  # fmt: skip
            Path(tmp).mkdir(parents=True, exist_ok=True)
            url = self._database(stack, Path(tmp))
            engine = make_engine(url)
            stack.callback(engine.dispose)
            upgrade(engine)
            relay = stack.enter_context(FaultRelay(self.faults, seed=self.rng.randrange(2**32)))
            # One engine for the whole process: a second make_engine on the same SQLite file
            # (it opens and closes the file) drops this process's locks, and another process
            # may then delete the WAL under our connections, freezing what they read.
            producer = Producer(engine, args.messages, args.enqueue_rate, deadline)
            sup = Supervisor(self.drain.env(url, relay.url), Path(tmp))
            t0 = time.monotonic()
            producer.start()
            sup.start()
            try:
                self._loop(engine, relay, producer, sup, deadline)
            finally:
                sup.sigterm(60)
            seconds = time.monotonic() - t0
            rows, emails = retrying(lambda: final_state(engine), time.monotonic() + 60)
            self.producer_error = repr(producer.error) if producer.error is not None else ""
            tally = count(rows=rows, accepted=list(relay.log.accepted),
                          enqueued_at=producer.enqueued_at, events=self.events,
                          unknown=self.unknown, suppressed=emails)  # fmt: skip
            return self._summary(tally, relay, sup, seconds)

    def _database(self, stack: ExitStack, tmp: Path) -> str:
        if self.args.database == "sqlite":
            return f"sqlite:///{tmp / 'soak.db'}"
        from tests.pgserver import PgServer

        self.pg = PgServer().start()
        stack.callback(self.pg.stop)
        return str(self.pg.new_database())

    def _loop(
        self,
        engine: Engine,
        relay: FaultRelay,
        producer: Producer,
        sup: Supervisor,
        deadline: float,
    ) -> None:
        every = self.args.fault_every
        next_fault = self.rng.uniform(0.5, 1.5) * every
        checked = 0.0
        while time.monotonic() < deadline:
            if sup.ended_by_itself():
                self.events.append((time.time(), "drain_exit"))
                time.sleep(0.5)  # as a supervisor's restart delay would
                sup.start()
            if self.kinds and len(relay.log.accepted) >= next_fault:
                if not self._order:
                    self._order = self.rng.sample(self.kinds, len(self.kinds))
                self._inject(self._order.pop(), sup)
                next_fault = len(relay.log.accepted) + self.rng.uniform(0.5, 1.5) * every
            if producer.done.is_set() and time.monotonic() - checked > 0.5:
                checked = time.monotonic()
                if pending(engine) == 0:
                    return
            time.sleep(0.05)

    def _inject(self, kind: str, sup: Supervisor) -> None:
        self.events.append((time.time(), kind))
        self.injected[kind] += 1
        if kind == "kill9":
            sup.kill9()
        elif kind == "sigterm":
            if not sup.sigterm(self.drain.grace_seconds + 30):
                self.injected["sigterm_needed_kill9"] += 1
        elif kind == "pg_restart":
            pg = self.pg
            pg._run(str(pg.bin / "pg_ctl"), "-D", str(pg.dir / "data"), "-l",
                    str(pg.dir / "log"), "-m", "fast", "-w", "-t", "60", "restart")  # fmt: skip
            return  # the drain is not touched: it must survive (or the supervisor restarts it)
        sup.start()

    def _summary(
        self, tally: Tally, relay: FaultRelay, sup: Supervisor, seconds: float
    ) -> dict[str, Any]:
        exits = Counter(code for _t, code, _line in sup.exits)
        last_lines = sorted({line for _t, _c, line in sup.exits if line})
        return {
            "messages": self.args.messages,
            "database": self.args.database,
            "seed": self.args.seed,
            "seconds": round(seconds, 1),
            "settings": self.drain.describe(),
            "enqueue_rate": self.args.enqueue_rate,
            "relay_faults": dict(relay.log.faults),
            "unknown_recipients": len(self.unknown),
            "refused_5_1_1": relay.log.refused_unknown,
            "relay_connections": relay.log.connections,
            "injected": dict(self.injected),
            "drains_started": sup.started,
            "drain_exits": {str(k): v for k, v in exits.items()},
            "drain_exit_lines": last_lines[:5],
            "producer_error": self.producer_error,
            "tally": tally.as_dict(),
        }


def report(s: dict[str, Any]) -> str:
    t = s["tally"]
    dups = ", ".join(f"{k} {v}" for k, v in sorted(t["duplicates"].items())) or "none"
    per_event = ", ".join(
        f"{kind} {t['duplicates'].get(kind, 0) / n:.1f}"
        for kind, n in sorted(s["injected"].items()) if kind in INJECTABLE and n
    )  # fmt: skip
    per_crash = f"\n  per injected fault: {per_event}" if per_event else ""
    hidden = sum(t["duplicates"].get(k, 0) for k in HIDDEN_REPLY)
    faulted = sum(t["duplicates"].get(k, 0) for k in (*INJECTABLE, "drain_exit"))
    no_fault = t["duplicates"].get("no_fault", 0) + t["duplicates"].get("slow_final", 0)
    lines = [
        f"soak: {s['messages']} messages on {s['database']}, seed {s['seed']}, "
        f"{s['seconds']} s, enqueued at {s['enqueue_rate']:g}/s (0 = all at once)",
        f"settings: {s['settings']}",
        "relay faults: "
        + (", ".join(f"{k} {v}" for k, v in sorted(s["relay_faults"].items())) or "none")
        + f"; 550 5.1.1 refusals {s['refused_5_1_1']} ({s['unknown_recipients']} recipients); "
        f"{s['relay_connections']} connections",
        "injected: "
        + (", ".join(f"{k} {v}" for k, v in sorted(s["injected"].items())) or "none")
        + f"; drains started {s['drains_started']}, exits on their own by code "
        f"{s['drain_exits'] or '{}'}",
        *(f"  drain's last line: {line}" for line in s["drain_exit_lines"]),
        f"accepted {t['accepted']} ({t['accepted_recipients']} recipients)  sent marks "
        f"{t['sent_marks']}  failed {t['failed']} ({t['failed_expected']} expected 5.1.1, "
        f"suppressed)  suppressed wrongly {t['suppressed_wrongly']}",
        f"statuses: {t['statuses']}",
        f"LOST {t['lost']} (marked sent but never accepted {t['sent_never_accepted']})"
        f"  undrained {t['undrained']}  wrong Message-ID {t['wrong_message_id']}"
        + (f"  e.g. {', '.join(t['lost_examples'][:3])}" if t["lost"] else ""),
        f"duplicates {t['duplicate_total']}: {dups}{per_crash}",
        f"  unavoidable (the relay kept it, the 250 never reached the drain) {hidden}; "
        f"after a drain or database fault {faulted}; with no fault (or a slow reply) {no_fault}",
        f"longest wait {t['wait_max']:.1f} s (enqueue → relay acceptance; p50 "
        f"{t['wait_p50']:.2f} s, p99 {t['wait_p99']:.2f} s)",
    ]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=50_000)
    p.add_argument("--seconds", type=float, default=1200, help="hard cap on the whole run")
    p.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument(
        "--enqueue-rate",
        type=float,
        default=400.0,
        help="messages enqueued per second while it runs (0: all at once)",
    )
    p.add_argument(
        "--fault-every",
        type=int,
        default=2500,
        help="inject a drain/database fault every N accepted messages (±50%%)",
    )
    p.add_argument(
        "--faults",
        type=lambda v: [k for k in v.split(",") if k],
        default=INJECTABLE,
        help="which of sigterm,kill9,pg_restart to inject (pg_restart: postgresql)",
    )
    p.add_argument(
        "--fault-scale",
        type=float,
        default=1.0,
        help="multiply the relay's per-message fault probabilities",
    )
    p.add_argument("--unknown", type=int, default=20, help="recipients answered 550 5.1.1")
    p.add_argument("--seed", type=int, default=random.randrange(10**6))
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--workdir", type=Path, help="keep the drain logs (and a SQLite database) here")
    args = p.parse_args(argv)
    bad = set(args.faults) - set(INJECTABLE)
    if bad:
        p.error(f"--faults: unknown {', '.join(sorted(bad))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    summary = Soak(args).run()
    print(report(summary), flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    if summary["producer_error"]:
        print(f"the outbox could not be filled: {summary['producer_error']}", file=sys.stderr)
        return 1
    t = summary["tally"]
    bad = t["lost"] or t["undrained"] or t["suppressed_wrongly"] or t["wrong_message_id"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
