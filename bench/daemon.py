"""The daemon's idle cost: `publisher run` with 10,000 articles, 100,000 confirmed subscribers
and nothing to do (no digest due, no sources, mail to a Maildir), on SQLite.

    PYTHONPATH=. python bench/daemon.py [--seconds 60] [--articles N] [--subscribers N]

Starts the daemon, waits until /healthz answers and the start-up catch-up (feeds, digest) has
run, then measures over --seconds its CPU (utime + stime of all its threads, from /proc) and its
RSS (VmRSS now, VmHWM peak). Side by side, in the same window: a bare idle Python
(`time.sleep`) and uvicorn serving an empty ASGI app. Targets: CPU ≤ 1 % of one core,
RSS ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from publisher.store import subscribers as store_subscribers  # noqa: E402
from publisher.store.db import make_engine  # noqa: E402
from publisher.store.migrate import upgrade  # noqa: E402
from publisher.store.schema import articles  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SCHEDULES = """\
timezone: Asia/Seoul
digests:
  - id: morning
    name: "아침 뉴스레터"
    cron: "0 7 * * *"
    frequency: daily
"""  # the default jobs: collect 60 s, feeds 5 min, deliver 30 s, cleanup daily
EMPTY_APP = """
import uvicorn
async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""


def setup(db: Path, n_articles: int, n_subscribers: int) -> None:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    now = datetime.now(UTC)
    rows = []
    for k in range(n_articles):
        at = now - timedelta(days=30) + timedelta(minutes=4 * k)
        rows.append(
            {"external_id": f"b{k}", "url": f"https://news.example.kr/articles/b{k}",
             "title": f"주요 뉴스 {k}: 정부와 국회, 내년 예산안 놓고 막판 협상",
             "summary": "기획재정부는 국무회의에서 내년도 예산안을 의결했다고 밝혔다. " * 2,
             "content_html": "<p>" + "예산안 협상 기사 본문입니다. " * 40 + "</p>",
             "tags": "[]", "status": "published", "published_at": at, "updated_at": at,
             "registered_at": at, "content_hash": f"{k:064x}"}
        )  # fmt: skip
    people = [
        {"email": f"reader{i:06d}@example{i % 50}.kr", "name": f"독자 {i}",
         "status": "confirmed", "frequency": "daily", "created_at": now - timedelta(days=30),
         "confirmed_at": now - timedelta(days=30), "sections": ()}
        for i in range(n_subscribers)
    ]  # fmt: skip
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(articles), rows[start : start + 2000])
        store_subscribers.insert_many(conn, people)
    engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def mem_mb(pid: int) -> tuple[float, float]:
    kb = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            kb[key] = int(value.split()[0])
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--subscribers", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="publisher-bench-") as tmp_s:
        tmp = Path(tmp_s)
        db = tmp / "p.db"
        started = time.perf_counter()
        setup(db, args.articles, args.subscribers)
        print(f"store: {args.articles:,} articles, {args.subscribers:,} confirmed subscribers "
              f"({time.perf_counter() - started:.1f} s to build)")  # fmt: skip
        (tmp / "schedules.yaml").write_text(SCHEDULES, "utf-8")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
        env |= {
            "PYTHONPATH": str(ROOT),
            "PUBLISHER_DATABASE_URL": f"sqlite:///{db}",
            "PUBLISHER_SMTP_URL": f"maildir://{tmp / 'mail'}",
            "PUBLISHER_SCHEDULES_FILE": str(tmp / "schedules.yaml"),
            "PUBLISHER_FEEDS_DIR": str(tmp / "feeds"),
            "PUBLISHER_TEMPLATES_DIR": str(ROOT / "templates"),
            "PUBLISHER_SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "PUBLISHER_POSTAL_ADDRESS": "Bench Press, 1 Loopback Lane, 00000 Localhost",
            "PUBLISHER_WEB_PORT": str(port),
        }
        log = (tmp / "run.log").open("wb")
        procs = {
            "publisher run": subprocess.Popen(
                [sys.executable, "-m", "publisher", "run"], env=env, cwd=tmp, stdout=log,
                stderr=subprocess.STDOUT,
            ),
            "bare python (sleep)": subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(100000)"]
            ),
            "uvicorn, empty app": subprocess.Popen(
                [sys.executable, "-c", EMPTY_APP, str(free_port())]
            ),
        }  # fmt: skip
        daemon = procs["publisher run"]
        try:
            deadline = time.monotonic() + 120
            while not (healthy(port) and b"job feeds:" in (tmp / "run.log").read_bytes()):
                if daemon.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the daemon did not come up:\n" + (tmp / "run.log").read_text())
                time.sleep(0.2)
            time.sleep(5)  # let the start-up catch-up (feeds, digest) finish and settle
            before = {name: cpu_ticks(p.pid) for name, p in procs.items()}
            t0 = time.monotonic()
            time.sleep(args.seconds)
            wall = time.monotonic() - t0
            after = {name: cpu_ticks(p.pid) for name, p in procs.items()}
            mem = {name: mem_mb(p.pid) for name, p in procs.items()}
        finally:
            for p in procs.values():
                p.terminate()
            code = daemon.wait(60)
            for p in procs.values():
                p.wait(10)
            log.close()
        cpu = {n: 100 * (after[n] - before[n]) / TICK / wall for n in procs}
        print(f"idle window: {wall:.0f} s; daemon stopped on SIGTERM with exit code {code}\n")
        print(f"{'process':<22} {'CPU % of a core':>16} {'RSS MB':>8} {'peak RSS MB':>12}")
        for n in procs:
            print(f"{n:<22} {cpu[n]:>16.2f} {mem[n][0]:>8.1f} {mem[n][1]:>12.1f}")
        d_cpu, (d_rss, d_peak) = cpu["publisher run"], mem["publisher run"]
        base_rss = mem["uvicorn, empty app"][0]
        print(f"\ndaemon vs uvicorn empty app: RSS ×{d_rss / base_rss:.1f}, "
              f"CPU +{d_cpu - cpu['uvicorn, empty app']:.2f} points")  # fmt: skip
        print(f"targets: CPU {d_cpu:.2f} % ≤ 1 % {'OK' if d_cpu <= 1 else 'OVER'}; "
              f"RSS {d_rss:.0f} MB (peak {d_peak:.0f}) ≤ 150 MB "
              f"{'OK' if d_peak <= 150 else 'OVER'}")  # fmt: skip


if __name__ == "__main__":
    main()
