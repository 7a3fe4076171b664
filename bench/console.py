"""Console bench (issue 15): the dashboard and a subscriber search on a big SQLite store.

Fills SQLite with --subscribers readers (default 100,000; the issue's size is 1,000,000) and
--outbox rows (default 5 per reader; the issue's 5,000,000) spread over 30 days, by
INSERT … SELECT with the secondary indexes dropped and built again afterwards. Then it runs
the daily rollup once (the first, full one) and once more (incremental), starts the app under
uvicorn in a child process on 127.0.0.1, signs in, and asks for the dashboard and for
subscriber searches (address prefixes, any case; names) one at a time. It prints p50/p99 of
each beside the naive scans the pages avoid, timed in the same run: the outbox grouped per
day/kind/status, and a LIKE '%…%' over lower(email).

    PYTHONPATH=. .venv/bin/python bench/console.py                       # 100k / 500k
    PYTHONPATH=. .venv/bin/python bench/console.py --subscribers 1000000 --outbox 5000000
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from publisher.core.config import Settings  # noqa: E402

EMAIL = "bench-admin@example.kr"
PASSWORD = "bench-password-0123"
TARGET_MS = 150.0
DAYS = 30
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def settings_for(tmp: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp / 'bench.db'}", templates_dir=ROOT / "templates",
        schedules_file=ROOT / "schedules.yaml", secret_key="bench-secret-key-0123456789",
        site_name="한빛일보", site_url="https://news.example.kr/",
        public_base_url="http://127.0.0.1", from_address="news@news.example.kr",
        smtp_url=f"maildir://{tmp / 'mail'}", ops_port=0,
    )  # fmt: skip


def _secondary_indexes(db: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    marks = ",".join("?" * len(tables))
    rows = db.execute(
        f"SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})", tables,
    ).fetchall()  # fmt: skip
    return [r[0] for r in rows]


def generate(path: Path, subscribers: int, outbox: int, now: datetime) -> float:
    """Readers and outbox rows by INSERT … SELECT; secondary indexes built once at the end."""
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    tables = ("subscribers", "outbox")
    indexes = _secondary_indexes(db, tables)
    for sql in indexes:
        db.execute("DROP INDEX " + sql.split()[2 if sql.split()[1] == "INDEX" else 3])
    start = (now - timedelta(days=DAYS)).replace(tzinfo=None).isoformat(sep=" ")
    span = DAYS * 86400
    db.execute("BEGIN")
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO subscribers (email, email_key, name, status, frequency, created_at, "
        "confirmed_at, unsubscribed_at, origin) SELECT "
        "'Reader' || i || '@d' || (i % 97) || '.example', "
        "'reader' || i || '@d' || (i % 97) || '.example', '독자' || i, "
        "CASE WHEN i % 20 = 0 THEN 'unsubscribed' WHEN i % 50 = 1 THEN 'pending' "
        "ELSE 'confirmed' END, CASE WHEN i % 5 = 0 THEN 'weekly' ELSE 'daily' END, "
        "datetime(?, '+' || (i * 7919 % ?) || ' seconds'), "
        "datetime(?, '+' || (i * 7919 % ?) || ' seconds', '+60 seconds'), "
        "CASE WHEN i % 20 = 0 THEN datetime(?, '+' || (i * 104729 % ?) || ' seconds') END, "
        "'signup' FROM n",
        (subscribers, start, span, start, span, start, span),
    )
    db.execute(
        "INSERT INTO contents (key, kind, body, created_at) VALUES ('bench', 'digest', x'00', ?)",
        (start,),
    )
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "
        "INSERT INTO outbox (dedupe_key, kind, recipient, content_id, substitutions, status, "
        "attempts, next_attempt_at, expires_at, last_reply, message_id, created_at, updated_at, "
        "sent_at) SELECT 'digest:bench:' || (i / 1000) || ':' || i, "
        "CASE WHEN i % 50 = 0 THEN 'confirm' WHEN i % 97 = 0 THEN 'test' ELSE 'digest' END, "
        "'reader' || (i % :subs + 1) || '@d' || ((i % :subs + 1) % 97) || '.example', 1, '{}', "
        "CASE WHEN i % 400 = 0 THEN 'queued' WHEN i % 401 = 0 THEN 'deferred' "
        "WHEN i % 67 = 0 THEN 'failed' WHEN i % 331 = 0 THEN 'expired' ELSE 'sent' END, 1, t, t, "
        "CASE WHEN i % 401 = 0 THEN '451 4.7.1 try again later' ELSE '250 2.0.0 ok' END, "
        "'<' || i || '@bench>', t, t, t "
        "FROM (SELECT i, datetime(:start, '+' || (i * :span / :n) || ' seconds') AS t FROM n)",
        {"n": outbox, "subs": subscribers, "start": start, "span": span},
    )
    db.execute("COMMIT")
    for sql in indexes:
        db.execute(sql)
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def naive(path: Path) -> tuple[float, float]:
    """What the pages must not do: scan the outbox per view, LIKE '%…%' over lower(email)."""
    db = sqlite3.connect(path)
    t0 = time.perf_counter()
    db.execute(
        "SELECT date(updated_at), kind, status, count(*) FROM outbox GROUP BY 1, 2, 3"
    ).fetchall()
    t1 = time.perf_counter()
    db.execute(
        "SELECT id FROM subscribers WHERE lower(email) LIKE '%reader4242%' LIMIT 50"
    ).fetchall()
    t2 = time.perf_counter()
    db.close()
    return (t1 - t0) * 1000, (t2 - t1) * 1000


def serve(tmp: Path) -> None:
    import uvicorn

    from publisher.web.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(create_app(settings_for(tmp)), log_level="critical",
                            access_log=False, lifespan="on")  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


def wait_up(client: httpx.Client, deadline: float) -> None:
    while True:
        try:
            client.get("/admin/signin")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sign_in(client: httpx.Client) -> None:
    page = client.get("/admin/signin").text
    token = _CSRF.search(page)
    assert token
    r = client.post(
        "/admin/signin",
        data={"csrf": token.group(1), "email": EMAIL, "password": PASSWORD, "next": "/admin/"},
    )
    assert r.status_code == 303, r.text


def timed(client: httpx.Client, paths: list[str]) -> list[float]:
    out = []
    for p in paths:
        t0 = time.perf_counter()
        r = client.get(p)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (p, r.status_code)
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def prepare(tmp: Path, args: argparse.Namespace) -> None:
    from publisher.staff import accounts, dashboard
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade

    s = settings_for(tmp)
    engine = make_engine(s.database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    took = generate(tmp / "bench.db", args.subscribers, args.outbox, now)
    print(f"generated {args.subscribers:,} subscribers and {args.outbox:,} outbox rows "
          f"in {took:.1f} s")  # fmt: skip
    inv = accounts.invite(engine, EMAIL, role="admin", now=now, valid=timedelta(hours=1))
    accounts.set_password(engine, inv.token, PASSWORD, now=now)
    for label in ("first rollup (all days)", "next rollup (incremental)"):
        t0 = time.perf_counter()
        n = dashboard.rollup(engine, now=datetime.now(UTC), tz=s.tz)
        print(f"{label}: {n} daily counts in {(time.perf_counter() - t0) * 1000:,.0f} ms")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--outbox", type=int, default=0, help="default: 5 per subscriber")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--serve", type=Path)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    args.outbox = args.outbox or args.subscribers * 5
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        prepare(tmp, args)
        scan_ms, like_ms = naive(tmp / "bench.db")
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(tmp)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                wait_up(client, time.monotonic() + 30)
                sign_in(client)
                report(client, args, scan_ms, like_ms)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def report(client: httpx.Client, args: argparse.Namespace, scan_ms: float, like_ms: float) -> None:
    rng = random.Random(15)
    timed(client, ["/admin/"] * 5)  # warm: templates compiled, caches filled
    board = timed(client, ["/admin/"] * args.requests)
    queries = []
    for _ in range(args.requests):
        n = rng.randrange(1, args.subscribers)
        queries.append(rng.choice([f"READER{n}", f"reader{n}@", f"독자{n}", f"Reader{n // 10}"]))
    search = timed(client, [f"/admin/subscribers?q={httpx.QueryParams({'q': q})['q']}"
                            for q in queries])  # fmt: skip
    print(f"\n{'page':<34}{'p50 ms':>10}{'p99 ms':>10}{'target':>10}")
    for label, values in (("dashboard (daily counts)", board), ("subscriber search", search)):
        ok = "ok" if p99(values) <= TARGET_MS else "OVER"
        print(f"{label:<34}{statistics.median(values):>10.1f}{p99(values):>10.1f}"
              f"{'≤ 150':>8} {ok}")  # fmt: skip
    print(
        f"\nnaive, same run: outbox scanned per day/kind/status {scan_ms:,.0f} ms "
        f"({scan_ms / statistics.median(board):.0f}x the dashboard's median); "
        f"LIKE '%…%' over lower(email) {like_ms:,.0f} ms "
        f"({like_ms / statistics.median(search):.0f}x the search's median)"
    )


if __name__ == "__main__":
    main()
