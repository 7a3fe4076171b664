"""Slow clients against `publisher run`: how many requests are served while 1,100 connections
trickle their request heads, before and after the slow-client protection.

    PYTHONPATH=. python bench/slowclients.py [--before-rev a2680c4] [--clients 1100]
                                             [--seconds 20] [--nofile 1024] [--raised 16384]

For each tree (``--before-rev``, extracted with `git archive`, then this working tree) it
starts the daemon on loopback with a descriptor limit of --nofile (soft and hard: systemd's
default soft limit, and the worst case where the process cannot raise it), opens --clients
connections that send half a request head and then one header line a second (reconnecting
at once when the server closes them, as an attacker would), and for --seconds sends
`GET /healthz` one after another from a well-behaved client with a 2 s timeout. It prints the
requests served and failed and the bytes the daemon logged in that window. A last row runs this
tree again with the limit the shipped systemd unit raises it to (--raised). Loopback only;
about a minute and a half in all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEDULES = """\
digests: []
jobs:
  collect: {cron: "0 0 1 1 *"}
  feeds: {cron: "0 0 1 1 *"}
  deliver: {cron: "0 0 1 1 *"}
  cleanup: {cron: "30 3 * * *"}
"""


@dataclass
class Figures:
    served: int = 0
    failed: int = 0
    log_bytes: int = 0
    reconnects: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_of(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "publisher", "templates"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def start(tree: Path, tmp: Path, nofile: int, *, ops: bool) -> tuple[subprocess.Popen[bytes], int]:
    (tmp / "schedules.yaml").write_text(SCHEDULES, "utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env |= {
        "PYTHONPATH": str(tree),
        "PUBLISHER_DATABASE_URL": f"sqlite:///{tmp / 'p.db'}",
        "PUBLISHER_SMTP_URL": f"maildir://{tmp / 'mail'}",
        "PUBLISHER_SCHEDULES_FILE": str(tmp / "schedules.yaml"),
        "PUBLISHER_FEEDS_DIR": str(tmp / "feeds"),
        "PUBLISHER_TEMPLATES_DIR": str(tree / "templates"),
        "PUBLISHER_SECRET_KEY": "bench-secret-key-of-enough-length-0123456789",
        "PUBLISHER_WEB_PORT": str(port),
    }
    if ops:  # a tree that knows the setting: keep its operations port out of the way
        env["PUBLISHER_OPS_PORT"] = str(free_port())
    py = sys.executable
    subprocess.run([py, "-m", "publisher", "init"], cwd=tmp, env=env, check=True,
                   capture_output=True)  # fmt: skip

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log = (tmp / "run.log").open("wb")
    proc = subprocess.Popen([py, "-m", "publisher", "run"], cwd=tmp, env=env, stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=limit)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.2)  # polling for start-up, with a deadline
    proc.kill()
    raise SystemExit(f"the daemon did not start:\n{(tmp / 'run.log').read_text()[-2000:]}")


async def trickle(port: int, stop: asyncio.Event, figures: Figures) -> None:
    """One slow client: half a head, then a header line a second, for ever; reconnects."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n")
            while not stop.is_set():
                try:
                    async with asyncio.timeout(1.0):
                        if await reader.read(100) == b"":
                            break  # the server closed it: come back at once
                except TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
        figures.reconnects += 1


def probe(port: int) -> bool:
    """One well-behaved request, in its own thread: the slow clients' loop does not delay it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return s.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def probes(port: int, seconds: float, figures: Figures) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe(port):
            figures.served += 1
        else:
            figures.failed += 1


async def attack(port: int, clients: int, seconds: float, log: Path) -> Figures:
    figures = Figures()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(trickle(port, stop, figures)) for _ in range(clients)]
    await asyncio.sleep(3)  # let the slow clients take their places first
    figures.reconnects = 0
    log_start = log.stat().st_size
    await asyncio.to_thread(probes, port, seconds, figures)
    figures.log_bytes = log.stat().st_size - log_start
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return figures


def measure(tree: Path, label: str, args: argparse.Namespace, *, ops: bool) -> Figures:
    tmp = Path(tempfile.mkdtemp(prefix=f"slowclients-{label}-"))
    proc, port = start(tree, tmp, args.nofile, ops=ops)
    try:
        return asyncio.run(attack(port, args.clients, args.seconds, tmp / "run.log"))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-rev", default="a2680c4", help="tree without the protection")
    parser.add_argument("--clients", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument(
        "--raised", type=int, default=16384, help="the limit the shipped unit's LimitNOFILE gives"
    )
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit(f"this bench holds {args.clients} sockets: raise `ulimit -Hn` to {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    rows: list[tuple[str, Figures]] = []
    with tempfile.TemporaryDirectory(prefix="slowclients-tree-") as old:
        before = tree_of(args.before_rev, Path(old))
        rows.append((f"before ({args.before_rev})", measure(before, "before", args, ops=False)))
    rows.append(("after (this tree)", measure(ROOT, "after", args, ops=True)))
    low = args.nofile
    args.nofile = args.raised
    rows.append((f"after, limit {args.raised}", measure(ROOT, "raised", args, ops=True)))
    print(
        f"{args.clients} trickling connections, descriptor limit {low} (last row: "
        f"{args.raised}), {args.seconds:g} s of GET /healthz one after another (2 s timeout each)"
    )
    print(f"{'':24} {'served':>8} {'failed':>8} {'log bytes':>12} {'slow reconnects':>16}")
    for label, f in rows:
        print(f"{label:24} {f.served:8d} {f.failed:8d} {f.log_bytes:12d} {f.reconnects:16d}")


if __name__ == "__main__":
    main()
