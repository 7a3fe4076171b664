"""What the drain benches share: the message, the outbox fill, the sinks, the measured child.

bench/deliver.py (one drain per database, beside smtp-source) and bench/scaledrain.py (two
drains on one PostgreSQL) both run the drain in a child process (``drain_child``), so its CPU
and peak RSS are its own, against Postfix's smtp-sink started here (never postfix itself).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
POOL = 8
SIZE = 36_500  # a personalised digest as the issue measured it
LINKS = 24  # tracked links, each ending in the reader's own part (%%CLICK_READER%%)


def have_postfix_tools() -> bool:
    return bool(shutil.which(SINK) and shutil.which(SOURCE))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux carries the parent's high-water mark
    across fork and exec into it, so a child of a big parent would report the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def body() -> bytes:
    """A ~36.5 KB digest as the fan-out stores it: Korean HTML, 8bit, the per-reader
    placeholders of messages/fanout.py, and a tracked link per story (analytics/links.py)."""
    head = (
        b"From: =?utf-8?b?7ZWc67mb7J2867O0?= <news@news.example.kr>\r\nTo: %%TO%%\r\n"
        b"Subject: =?utf-8?b?7Jik64qY7J2YIOuJtOyKpA==?=\r\nMessage-ID: %%MESSAGE_ID%%\r\n"
        b"List-Unsubscribe: <%%UNSUBSCRIBE_URL%%>, <mailto:%%UNSUBSCRIBE_MAILTO%%>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    story = (
        '<tr><td style="padding:12px 0;font-family:sans-serif"><a href="https://news.example.kr'
        '/c/{i:04d}%%CLICK_READER%%" style="color:#111;font-size:18px">정부, 내년 예산안 발표'
        "… 복지·국방 예산 늘려</a></td></tr>\r\n"
    )
    filler = "<p>오늘의 주요 뉴스를 정리했습니다. 자세한 내용은 기사에서 확인하세요.</p>\r\n"
    text = head + "<p>%%NAME%%님, 안녕하세요.</p>\r\n".encode()
    for i in range(LINKS):
        text += story.format(i=i).encode() + filler.encode() * 4
    while len(text) < SIZE - 300:
        text += filler.encode()
    tail = '<a href="%%PREFERENCES_URL%%">설정</a> <a href="%%UNSUBSCRIBE_URL%%">수신 거부</a>\r\n'
    return text + tail.encode()


def substitutions(i: int) -> dict[str, str]:
    """Values of the length the fan-out writes (signed tokens of ~40 characters)."""
    token = f"{i:08d}.aGVsbG8td29ybGQtdG9rZW4tc2lnbmVk"
    return {
        "%%TO%%": f"=?utf-8?b?64+F7J6Q?= <reader{i}@example.kr>",
        "%%NAME%%": f"독자{i}",
        "%%UNSUBSCRIBE_URL%%": f"https://news.example.kr/u/{token}",
        "%%UNSUBSCRIBE_MAILTO%%": f"unsubscribe@news.example.kr?subject=unsubscribe%20{token}",
        "%%PREFERENCES_URL%%": f"https://news.example.kr/preferences/{token}",
        "%%CLICK_READER%%": f"/r{i:08d}x",
    }


def fill(url: str, rows: int, *, start: int = 0, key: str = "bench:v1") -> float:
    """Enqueue ``rows`` digest rows (recipients reader{start}… ); returns the seconds taken."""
    from publisher.core.clock import SystemClock
    from publisher.messages.bulk import after_bulk
    from publisher.messages.enqueue import NewMessage, enqueue, store_content
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade

    t0 = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    now = SystemClock().now()
    with engine.begin() as conn:
        cid = store_content(conn, key=key, kind="digest", body=body(), now=now)
    for first in range(start, start + rows, 10_000):
        with engine.begin() as conn:
            enqueue(conn, (
                NewMessage(dedupe_key=f"digest:{key}:subscriber:{i}", kind="digest",
                           recipient=f"reader{i}@example.kr", content_id=cid,
                           substitutions=substitutions(i))
                for i in range(first, min(start + rows, first + 10_000))
            ), now=now, domain="news.example.kr")  # fmt: skip
    after_bulk(engine, rows)  # as a fan-out does: the claims plan on the queue as it is
    engine.dispose()
    return time.perf_counter() - t0


class Sink:
    """Postfix's smtp-sink on a free port; with ``record``, every transaction is appended to
    a dump file so that recipients can be counted afterwards (``recipients``)."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.port = free_port()
        self.dump = workdir / f"sink-{self.port}.dump" if workdir else None
        cmd = [SINK, "-u", "root"]
        if self.dump is not None:
            cmd += ["-D", str(self.dump)]
        cmd += [f"127.0.0.1:{self.port}", "1000"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if relay_core():  # one process, one thread
            os.sched_setaffinity(self.proc.pid, {0})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("smtp-sink did not start")

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def recipients(self) -> Counter[str]:
        """Messages received per recipient (the dump's X-Rcpt-Args lines, read by grep)."""
        if self.dump is None or not self.dump.exists():
            return Counter()
        out = subprocess.run(
            ["grep", "-a", "^X-Rcpt-Args: ", str(self.dump)], capture_output=True, text=True
        )
        found = Counter(
            line[len("X-Rcpt-Args: <") :].split(">")[0] for line in out.stdout.split("\n") if line
        )
        self.dump.unlink()
        return found

    def times(self) -> tuple[float, float]:
        """Seconds the sink has run, and waited runnable for a CPU, so far (schedstat).
        smtp-sink is one process: under a fast client it is the bottleneck, and its busy and
        waiting shares say how hard the client drives it and how much CPU it leaves it."""
        try:
            run, wait, _ = Path(f"/proc/{self.proc.pid}/schedstat").read_text().split()
        except (OSError, ValueError):
            return 0.0, 0.0
        return int(run) / 1e9, int(wait) / 1e9

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def relay_core() -> bool:
    """bench/deliver.py --relay-core: the sink gets CPU 0 to itself (the bench and all it
    starts, which inherit its mask, keep to the other CPUs)."""
    return bool(os.environ.get("DRAINKIT_RELAY_CORE"))


@contextmanager
def postgres() -> Iterator[Any]:
    """A throw-away PostgreSQL server (tests/pgserver.py), or None without the binaries."""
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PgServer, pg_bin

    if pg_bin() is None:
        yield None
        return
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


def server_cpu(server: Any) -> float:
    """CPU seconds used so far by a PostgreSQL server (postmaster and its backends), from
    /proc: the database's share of a drain's cost, which the drain's own CPU leaves out."""
    if server is None:
        return 0.0
    master = (server.dir / "data" / "postmaster.pid").read_text().split()[0]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        if not (fields := stat_fields(stat)):
            continue
        if stat.parent.name == master:  # its own, and its backends' that have ended
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif fields[1] == master:  # a backend still running
            total += int(fields[11]) + int(fields[12])
    return total / tick


def stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc stat file after the command name (``fields[11]`` is utime);
    empty when the process or thread ended meanwhile."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def sqlite_url(workdir: Path, name: str) -> str:
    return f"sqlite:///{workdir / name}"


# --- the measured drain, in its own process ---


def run_child(
    url: str, port: int, *, rate: float = 0, profile: str = "", rows: int = 0
) -> dict[str, Any]:
    """Drain ``url`` to the sink on ``port`` in a child process; its JSON report."""
    proc = start_child(url, port, rate=rate, profile=profile, rows=rows)
    return finish_child(proc)


def start_child(
    url: str, port: int, *, rate: float = 0, profile: str = "", rows: int = 0
) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        url,
        str(port),
        str(rate),
        profile,
        str(rows),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish_child(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"drain child failed ({proc.returncode}):\n{err[-3000:]}")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def drain_child(url: str, port: int, rate: float, profile: str, rows: int) -> None:
    """Child: drain the outbox until empty; print rate, CPU, peak RSS and per-100k marks."""
    from publisher.core import eventloop
    from publisher.core.clock import SystemClock
    from publisher.core.vocab import DbPriority, EventLoop
    from publisher.delivery.drain import DeliverConfig, Drain, Report
    from publisher.delivery.mailer import Mailer
    from publisher.store.db import make_engine

    engine = make_engine(url)
    # The database thread's priority: the setting db_thread_priority (default normal).
    priority: DbPriority = "normal"
    if os.environ.get("DRAINKIT_DB_PRIORITY") == "background":
        priority = "background"
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=POOL, rate=rate, mark_batch=200,
        lease=timedelta(minutes=15), db_priority=priority,
    )  # fmt: skip
    step = 100_000 if rows >= 200_000 else 0
    stamps: list[float] = []
    threads: dict[str, float] = {}

    def progress(report: Report) -> None:
        if step and report.sent >= (len(stamps) + 1) * step:
            stamps.append(time.perf_counter())
        if report.sent % 2000 == 0:  # before the database thread ends with the run
            threads.update(thread_cpu())

    tracer = None
    if os.environ.get("DRAINKIT_STALLS"):
        from stalls import StallTracer

        from publisher.delivery.drainstore import DrainStore

        tracer = StallTracer()
        tracer.wrap_store(DrainStore)
    store = None
    if os.environ.get("DRAINKIT_MEMORY_CLAIMS"):  # every row claimed before the clock starts
        from memclaims import memory_store

        store = memory_store(engine, SystemClock(), config)
    drain = Drain(engine, Mailer(f"smtp://127.0.0.1:{port}", pool_size=POOL), SystemClock(),
                  config=config, on_progress=progress, store=store)  # fmt: skip
    # The setting event_loop's value (its default: uvloop), from the bench's --event-loop.
    loop: EventLoop = "asyncio" if os.environ.get("DRAINKIT_EVENT_LOOP") == "asyncio" else "uvloop"
    cpu0, t0, base = time.process_time(), time.perf_counter(), thread_cpu()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        report = prof.runcall(eventloop.run, drain.run(until_empty=True), loop)
        prof.dump_stats(profile)
    elif tracer is not None:
        report = eventloop.run(tracer.run(drain.run(until_empty=True)), loop)
    else:
        report = eventloop.run(drain.run(until_empty=True), loop)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    marks = [t0, *stamps]
    per_step = [step / (b - a) for a, b in itertools.pairwise(marks)]
    print(json.dumps({"sent": report.sent, "seconds": elapsed, "cpu": cpu,
                      "rss_mb": peak_rss_mb(), "per_100k": per_step,
                      "threads": {k: v - base[k] for k, v in threads.items()},
                      "stalls": tracer.summary(elapsed) if tracer else ""}))  # fmt: skip


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of this process's event loop (the main thread) and of the
    rest of the process: the drain's database thread, whose work may move to a new thread at
    background priority (delivery/dbpriority.py; the process total keeps an ended thread's
    CPU, /proc/self/task forgets it). From /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = stat_fields(Path(f"/proc/self/task/{os.getpid()}/stat"))
    loop = (int(fields[11]) + int(fields[12])) / tick if fields else 0.0
    return {"loop": loop, "db": time.process_time() - loop}


if __name__ == "__main__":
    drain_child(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
