"""Resident memory of the served app while clients send 400 MB request bodies.

    PYTHONPATH=. python bench/bigbody.py [--mib 400]

The app runs under uvicorn in a child process on 127.0.0.1 (a port the OS picks); each case
opens one connection and sends up to ``--mib`` MiB of body (declared with Content-Length,
or chunked with none), stopping when the server answers or hangs up, or after 30 s. The
child's VmRSS is sampled every 5 ms: before, peak during, and after each case.

To measure another checkout (e.g. the code before the body limits), point PYTHONPATH at it:
``PYTHONPATH=/path/to/old python bench/bigbody.py``.
"""

from __future__ import annotations

import argparse
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
CASE_SECONDS = 30
KEY = "bench-key-0123456789"
CASES = [  # (method, path, content type, chunked, with the API key)
    ("PUT", "/api/articles/x", "application/json", False, False),
    ("PUT", "/api/articles/x", "application/json", True, False),
    ("PUT", "/api/articles/x", "application/json", True, True),  # a key holder: read to the cap
    ("POST", "/api/views", "application/json", False, False),  # public
    ("POST", "/api/views", "application/json", True, False),
    ("POST", "/subscribe", "application/x-www-form-urlencoded", True, False),  # public form
]


def serve(tmp: Path) -> None:
    import uvicorn

    from publisher.core.config import Settings
    from publisher.store.db import make_engine
    from publisher.store.migrate import upgrade
    from publisher.web.app import create_app

    settings = Settings(
        database_url=f"sqlite:///{tmp / 'bench.db'}", templates_dir=ROOT / "templates",
        schedules_file=ROOT / "schedules.yaml", secret_key="bench-secret-key-0123456789",
        site_name="한빛일보", site_url="https://news.example.kr/",
        public_base_url="http://127.0.0.1", from_address="news@news.example.kr",
        smtp_url=f"maildir://{tmp / 'mail'}", api_keys=[KEY],
    )  # fmt: skip
    upgrade(make_engine(settings.database_url))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(create_app(settings), log_level="critical", access_log=False,
                            lifespan="on")  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Peak:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            self.stop.wait(0.005)


def send_body(
    port: int, method: str, path: str, ctype: str, chunked: bool, total: int, key: bool
) -> tuple[str, int]:
    """(status line, bytes of body sent) for one upload of up to ``total`` bytes."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    if key:
        framing += f"\r\nX-API-Key: {KEY}"
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
    head += f"User-Agent: Mozilla/5.0 bench\r\n{framing}\r\n\r\n"
    chunk = b" " * MIB
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
    deadline = time.monotonic() + CASE_SECONDS
    sent = 0  # whole chunks of body
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=CASE_SECONDS) as sock:
        sock.sendall(head.encode())
        pending = memoryview(frame)
        try:
            while sent < total and time.monotonic() < deadline and b"\r\n" not in reply:
                readable, writable, _ = select.select([sock], [sock], [], 1.0)
                if readable:  # the server answered (or hung up) early: stop sending
                    data = sock.recv(65536)
                    if not data:
                        break
                    reply += data
                elif writable:
                    pending = pending[sock.send(pending) :]
                    if not pending:
                        sent, pending = sent + len(chunk), memoryview(frame)
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
            sock.settimeout(max(1.0, deadline - time.monotonic()))
            while b"\r\n" not in reply:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
        except OSError:  # reset: the server closed after answering
            pass
    return reply.split(b"\r\n", 1)[0].decode(errors="replace") or "(no answer)", sent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=400)
    ap.add_argument("--serve", type=Path)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, __file__, "--serve", tmp], stdout=subprocess.PIPE,
                                text=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            time.sleep(0.5)  # uvicorn's startup after the bind
            print(f"{'case':<44} {'answer':<34} {'sent MB':>8} {'RSS MB: before':>15} "
                  f"{'peak':>6} {'after':>6}")  # fmt: skip
            for method, path, ctype, chunked, key in CASES:
                before = rss(proc.pid)
                peak = Peak(proc.pid)
                peak.thread.start()
                status, sent = send_body(port, method, path, ctype, chunked, args.mib * MIB, key)
                time.sleep(0.3)  # let the server finish with what it read
                peak.stop.set()
                peak.thread.join()
                after = rss(proc.pid)
                how = ("chunked" if chunked else "Content-Length") + (", key" if key else "")
                name = f"{method} {path} ({how})"
                print(f"{name:<44} {status:<34} {sent / 1e6:>8.0f} {before / 1e6:>15.0f} "
                      f"{peak.peak / 1e6:>6.0f} {after / 1e6:>6.0f}", flush=True)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
