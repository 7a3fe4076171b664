"""The daemon's listeners: /metrics only on the loopback operations port, and /healthz keeps
answering while hundreds of slow clients hold connections under a low descriptor limit."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemonkit import cli, daemon_env, wait_for
from tests.pgserver import free_port

pytestmark = pytest.mark.slow
SCHEDULES = """\
digests: []
jobs:
  collect: {cron: "0 0 1 1 *"}
  feeds: {cron: "0 0 1 1 *"}
  deliver: {cron: "0 0 1 1 *"}
  cleanup: {cron: "30 3 * * *"}
"""
SLOW = 400  # slow connections, against a descriptor limit of 256


def _status(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Run:
    """`publisher run` with a descriptor limit, as systemd's LimitNOFILE would set it."""

    def __init__(self, tmp: Path, nofile: int | None = None, **settings: str) -> None:
        (tmp / "schedules.yaml").write_text(SCHEDULES, "utf-8")
        self.env = daemon_env(
            database_url=f"sqlite:///{tmp / 'p.db'}", smtp_url=f"maildir://{tmp / 'mail'}",
            schedules_file=str(tmp / "schedules.yaml"), feeds_dir=str(tmp / "feeds"),
            web_port=str(free_port()), **settings,
        )  # fmt: skip
        cli(self.env, "init", cwd=tmp)
        self.web = f"http://127.0.0.1:{self.env['PUBLISHER_WEB_PORT']}"
        self.ops = f"http://127.0.0.1:{self.env['PUBLISHER_OPS_PORT']}"
        self.log_path = tmp / "run.log"
        self._log = self.log_path.open("wb")

        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "run"], cwd=tmp, env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=limit,
        )  # fmt: skip
        wait_for(lambda: _status(self.web + "/healthz") == 200, seconds=60, what="daemon up")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def room_for_clients() -> Iterator[None]:
    """This test process holds the slow clients' sockets: raise its own soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SLOW + 200:
        pytest.skip(f"needs {SLOW + 200} descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, SLOW + 200), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_metrics_are_on_the_loopback_ops_port_only(tmp_path: Path) -> None:
    run = Run(tmp_path)
    try:
        assert _status(run.web + "/metrics") == 404, "recipient domains stay off the public port"
        assert _status(run.web + "/healthz") == 200, "load balancers still probe the app port"
        assert _status(run.ops + "/healthz") == 200
        with urllib.request.urlopen(run.ops + "/metrics", timeout=5) as resp:
            body = resp.read().decode()
        assert "publisher_drain_up 1.0" in body and "publisher_outbox_messages" in body
        # The descriptors, which an operator watches (uvloop logs no "out of descriptors").
        assert "process_open_fds " in body and "process_max_fds " in body
        assert "event loop uvloop" in run.log()  # the default, named at start
        assert f"ops listening on http://127.0.0.1:{run.env['PUBLISHER_OPS_PORT']}" in run.log()
        # A large request in one piece is a request, not an oversized head.
        port = int(run.env["PUBLISHER_WEB_PORT"])
        body = b"x" * 200_000
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)  # fmt: skip
            # An answer from the app, not a cut connection: 413 from the body limit (forms
            # take 64 KiB) or 405 from the route, either way the head was read as a request.
            assert s.recv(12) in (b"HTTP/1.1 413", b"HTTP/1.1 405")
        # A head that never ends is cut at 64 KB.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"y" * 70_000)
            assert s.recv(100) == b""
        assert run.stop() == 0
    finally:
        run.close()


def test_healthz_answers_while_hundreds_of_slow_clients_hold_connections(
    tmp_path: Path, room_for_clients: None
) -> None:
    run = Run(tmp_path, nofile=256, web_header_timeout="3")
    port = int(run.env["PUBLISHER_WEB_PORT"])
    # The start-up feed build opens files too: at a 256-descriptor limit it would race the
    # flood for descriptors. What is measured here is the listener, so let it finish first.
    wait_for(lambda: "job feeds:" in run.log(), seconds=60, what="the start-up feed build")
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW):  # each sends half a request head and then nothing
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        answered = 0
        started = time.monotonic()
        while answered < 5 and time.monotonic() - started < 30:
            answered += _status(run.web + "/healthz", timeout=3) == 200
        assert answered == 5, f"/healthz answered {answered} of 5 times:\n{run.log()[-2000:]}"
        # Slow clients are closed (evicted at the limit, or after web_header_timeout).
        s = slow[-1]
        s.settimeout(10)
        assert s.recv(100) == b"", "a slow client's connection is closed by the server"
        # On asyncio's loop; on uvloop (the default) libuv closes such a connection silently,
        # and /metrics shows the descriptors instead (the ops port's test above).
        assert run.log().count("cannot accept connections") <= 1
        assert "Traceback" not in run.log(), run.log()[-6000:]
        assert run.stop() == 0
    finally:
        for s in slow:
            s.close()
        run.close()
