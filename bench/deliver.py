"""Delivery speed against Postfix's smtp-sink: our drain vs smtp-source vs plain aiosmtplib.

    PYTHONPATH=. python bench/deliver.py [--rows 100000] [--baseline-rows 20000]

Our figure is end to end: claim → personalise → send (8 pipelined connections) → mark sent,
on a real SQLite outbox. The drain runs in a child process so its peak RSS is its own.
This script (for the baseline) is the only place besides publisher/delivery/mailer.py that
imports aiosmtplib.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
POOL = 8
SIZE = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body() -> bytes:
    """A ~30 KB digest-like message with per-recipient placeholders."""
    head = (
        b"From: =?utf-8?b?7ZWc67mb7J2867O0?= <news@news.example.kr>\r\nTo: %%TO%%\r\n"
        b"Subject: =?utf-8?b?7Jik64qY7J2YIOuJtOyKpA==?=\r\nMessage-ID: %%MESSAGE_ID%%\r\n"
        b"List-Unsubscribe: <%%UNSUBSCRIBE_URL%%>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    line = "<p>오늘의 주요 뉴스: 정부, 내년 예산안 발표 %%NAME%%님</p>\r\n".encode()
    text = head + line * 10
    filler = b"<p>" + b"x" * 70 + b"</p>\r\n"
    while len(text) < SIZE - 200:
        text += filler
    return text + b'<a href="%%UNSUBSCRIBE_URL%%">unsubscribe</a>\r\n'


def fill(db: str, rows: int) -> None:
    from publisher.core.clock import SystemClock
    from publisher.messages.enqueue import NewMessage, enqueue, store_content
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade

    engine = make_engine(db)
    upgrade(engine)
    now = SystemClock().now()
    with engine.begin() as conn:
        cid = store_content(conn, key="bench:v1", kind="digest", body=body(), now=now)
        for start in range(0, rows, 5000):
            enqueue(conn, (
                NewMessage(dedupe_key=f"digest:bench:subscriber:{i}", kind="digest",
                           recipient=f"reader{i}@example.kr", content_id=cid,
                           substitutions={"%%TO%%": f"reader{i}@example.kr",
                                          "%%NAME%%": f"독자{i}",
                                          "%%UNSUBSCRIBE_URL%%": f"https://news.example.kr/u/t{i:08d}"})
                for i in range(start, min(rows, start + 5000))
            ), now=now, domain="news.example.kr")  # fmt: skip
    engine.dispose()


def drain_child(db: str, port: int) -> None:
    """Child process: drain the outbox; print rate, CPU and peak RSS as JSON."""
    from publisher.core.clock import SystemClock
    from publisher.delivery.drain import DeliverConfig, Drain
    from publisher.delivery.mailer import Mailer
    from publisher.store.db import make_engine

    engine = make_engine(db)
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=POOL, rate=0, mark_batch=200,
        lease=timedelta(minutes=15),
    )  # fmt: skip
    drain = Drain(engine, Mailer(f"smtp://127.0.0.1:{port}", pool_size=POOL), SystemClock(),
                  config=config)  # fmt: skip
    cpu0, t0 = time.process_time(), time.perf_counter()
    report = asyncio.run(drain.run(until_empty=True))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"sent": report.sent, "seconds": elapsed, "cpu": cpu, "rss_mb": rss_mb}))


async def baseline(port: int, rows: int) -> float:
    import aiosmtplib

    message = body()
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(POOL)]
    await asyncio.gather(*(c.connect() for c in clients))

    async def run(client: aiosmtplib.SMTP, share: int) -> None:
        for i in range(share):
            await client.sendmail("bounces@news.example.kr", [f"r{i}@example.kr"], message)

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c, rows // POOL) for c in clients))
    rate = (rows // POOL * POOL) / (time.perf_counter() - t0)
    for c in clients:
        c.close()
    return rate


def smtp_source(port: int, rows: int) -> float:
    t0 = time.perf_counter()
    cmd = [SOURCE, "-d", "-s", str(POOL), "-l", str(SIZE), "-m", str(rows), f"127.0.0.1:{port}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return rows / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--child", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        drain_child(args.child[0], int(args.child[1]))
        return
    if not (shutil.which(SINK) and shutil.which(SOURCE)):
        sys.exit("smtp-sink/smtp-source not found: apt-get install postfix (don't start it)")
    port = free_port()
    sink = subprocess.Popen(
        [SINK, "-u", "root", f"127.0.0.1:{port}", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.3)
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{Path(tmp) / 'bench.db'}"
            t0 = time.perf_counter()
            fill(db, args.rows)
            print(f"enqueued {args.rows} rows in {time.perf_counter() - t0:.1f} s")
            out = subprocess.run(
                [sys.executable, __file__, "--child", db, str(port)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            ours = json.loads(out.stdout.strip().splitlines()[-1])
        source = smtp_source(port, args.rows)
        base = asyncio.run(baseline(port, args.baseline_rows))
    finally:
        sink.terminate()
        sink.wait()
    rate = ours["sent"] / ours["seconds"]
    print(f"message size          {len(body())} bytes, {POOL} connections")
    print(f"publisher drain       {rate:8.0f} msg/s  ({ours['sent']} rows, "
          f"{1000 * ours['cpu'] / max(ours['sent'], 1):.3f} ms CPU/msg, "
          f"peak RSS {ours['rss_mb']:.0f} MB)")  # fmt: skip
    print(f"smtp-source -d -s 8   {source:8.0f} msg/s  ({args.rows} messages)")
    print(f"plain aiosmtplib x8   {base:8.0f} msg/s  ({args.baseline_rows} messages)")
    print(f"ratio to smtp-source  {rate / source:8.2f}  (target ≥ 1.0)")
    print(f"ratio to aiosmtplib   {rate / base:8.2f}")


if __name__ == "__main__":
    main()
