"""Inbound bench: 20,000 mixed messages in a Maildir, processed end to end on SQLite.

    PYTHONPATH=. python bench/inbound.py [--messages N] [--readers N]

The mix: Postfix DSNs (hard 35 %, soft 10 %) to our VERP addresses, Exim bounces that lost the
envelope (matched by Message-ID, 10 %), ARF complaints (10 %), emailed unsubscribes with a
signed token (10 %), auto-replies (vacation and challenge-response, 10 %), junk (15 %). Each
is parsed, classified, matched, applied (suppress, unsubscribe, score) and moved to cur/ or
.unmatched/ (inbound/maildir.py), a batch per transaction, as the daemon's job does.

Prints messages/s and peak RSS (each measured in a fresh child process) beside the baseline
of parsing alone (read + email.message_from_bytes) in the same run, and the share of each
outcome. Targets: ≥ 500 messages/s, ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.core import messageids, tokens, verp  # noqa: E402
from publisher.core.config import Settings  # noqa: E402
from publisher.inbound import maildir  # noqa: E402
from publisher.inbound.effects import Rules  # noqa: E402
from publisher.messages.enqueue import NewMessage, enqueue, store_content  # noqa: E402
from publisher.store import subscribers as store_subscribers  # noqa: E402
from publisher.store.db import make_engine  # noqa: E402
from publisher.store.migrate import upgrade  # noqa: E402
from tests.inbound import mailkit  # noqa: E402  (the suite's real-world message shapes)

NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
SECRET = "bench-secret-key-0123456789"
BOUNCES = "bounces@news.example.kr"
MIX = [("hard", 35), ("soft", 10), ("exim", 10), ("arf", 10), ("unsub", 10), ("auto", 10),
       ("junk", 15)]  # fmt: skip


def settings(db: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{db}", secret_key=SECRET, bounce_address=BOUNCES,
                    from_address="news@news.example.kr")  # fmt: skip


def build_store(db: Path, readers: int) -> list[tuple[int, int, str, str]]:
    """(outbox id, subscriber id, recipient, Message-ID) of one sent run to ``readers``."""
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with engine.begin() as conn:
        store_subscribers.insert_many(conn, [
            {"email": f"reader{i}@example.kr", "name": "", "status": "confirmed",
             "frequency": "daily", "sections": [], "created_at": NOW - timedelta(days=30),
             "confirmed_at": NOW - timedelta(days=30)}
            for i in range(readers)
        ])  # fmt: skip
        cid = store_content(conn, key="bench:v1", kind="digest", body=b"x", now=NOW)
        enqueue(conn, [NewMessage(f"digest:morning:1:subscriber:{i}", "digest",
                                  f"reader{i}@example.kr", cid) for i in range(readers)],
                now=NOW, domain="news.example.kr")  # fmt: skip
        conn.exec_driver_sql("UPDATE outbox SET status = 'sent'")
        ids = conn.exec_driver_sql(
            "SELECT o.id, s.id, o.recipient, o.message_id FROM outbox o "
            "JOIN subscribers s ON s.email = o.recipient ORDER BY o.id"
        ).all()
    engine.dispose()
    # The Message-ID as the reader's copy carried it (core/messageids.py).
    return [(int(a), int(b), str(c), messageids.sent(str(d), int(a))) for a, b, c, d in ids]


def message(kind: str, n: int, row: tuple[int, int, str, str]) -> bytes:
    oid, sid, rcpt, mid = row
    sender = verp.address(BOUNCES, SECRET, oid)
    if kind == "hard":
        return mailkit.postfix_dsn(sender, rcpt, message_id=mid, mid=f"<h{n}@mx>")
    if kind == "soft":
        return mailkit.postfix_dsn(sender, rcpt, status="4.2.2", action="delayed",
                                   message_id=mid, mid=f"<s{n}@mx>")  # fmt: skip
    if kind == "exim":
        return mailkit.exim_bounce(rcpt, message_id=mid).replace(b"<exim-", f"<e{n}-".encode())
    if kind == "arf":
        return mailkit.arf(sender, rcpt, message_id=mid, mid=f"<a{n}@fbl>")
    if kind == "unsub":
        token = tokens.make(SECRET, "unsubscribe", (sid,), now=NOW)
        return mailkit.unsubscribe_mail(rcpt, token, mid=f"u{n}")
    if kind == "auto":
        maker = mailkit.vacation if n % 2 else mailkit.challenge
        return maker(sender, mid=f"<v{n}@example.kr>")
    return mailkit.junk(mid=f"<j{n}@example.com>")


def fill_maildir(box: Path, rows: list[tuple[int, int, str, str]], count: int) -> None:
    rng = random.Random(20261129)
    kinds = [k for k, w in MIX for _ in range(w)]
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        data = message(rng.choice(kinds), n, rows[rng.randrange(len(rows))])
        (box / "new" / f"{1700000000 + n}.M{n}P1.bench").write_bytes(data)


def child(mode: str, db: Path, box: Path) -> None:
    """One measurement in a fresh process: prints a JSON line with its figures."""
    names = os.listdir(box / "new")
    started = time.perf_counter()
    if mode == "parse":
        import email

        for name in names:
            email.message_from_bytes((box / "new" / name).read_bytes())
        result: dict[str, object] = {}
    else:
        s = settings(db)
        engine = make_engine(s.database_url)
        tally = maildir.drain(box, engine, Rules.of(s), source="maildir:bench", now=NOW,
                              limit=s.inbound_max_bytes)  # fmt: skip
        result = {"outcomes": tally.by_outcome, "kept": tally.kept}
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "count": len(names), "rss_mb": rss, **result}))


def measure(mode: str, db: Path, box: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, __file__, "--child", mode, str(db), str(box)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench child {mode} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--readers", type=int, default=5_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as tmp:
        db, box = Path(tmp) / "bench.db", Path(tmp) / "bounces"
        rows = build_store(db, args.readers)
        fill_maildir(box, rows, args.messages)
        parse = measure("parse", db, box)
        full = measure("process", db, box)
    n = int(str(full["count"]))
    parse_rate = n / float(str(parse["seconds"]))
    rate = n / float(str(full["seconds"]))
    print(f"{n} messages, {args.readers} readers, SQLite")
    print(f"parse only (read + email.message_from_bytes): {parse_rate:8.0f} msg/s  "
          f"peak RSS {float(str(parse['rss_mb'])):.0f} MB")  # fmt: skip
    rss = float(str(full["rss_mb"]))
    print(f"end to end (parse, classify, match, apply, move): {rate:8.0f} msg/s  "
          f"peak RSS {rss:.0f} MB  ({rate / parse_rate:.2f} of parse only)")  # fmt: skip
    outcomes = full["outcomes"]
    assert isinstance(outcomes, dict)
    print("outcomes: " + ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(outcomes.items())))
    print(f"kept as unmatched: {int(str(full['kept'])) / n:.1%}")
    ok = rate >= 500 and float(str(full["rss_mb"])) <= 150
    print("targets (>= 500 msg/s, <= 150 MB): " + ("met" if ok else "NOT met"))


if __name__ == "__main__":
    main()
