"""Request bodies: refused with 413 before they are read, and never read for a stranger.

The ASGI-level tests hand the app a ``receive`` that records every read, so "not read"
is observed, not inferred. test_big_upload_keeps_memory_flat sends a real 64 MB body
to the app under uvicorn and watches the process's resident memory while it does.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import API_KEY, Web, subscriber_status, web_settings
from tests.webserver import bind_loopback, serve

MIB = 1024 * 1024


class Upload:
    """An ASGI receive() for a body sent in chunks, counting what the app pulled."""

    def __init__(self, chunks: int, size: int) -> None:
        self.left, self.size, self.reads = chunks, size, 0

    async def __call__(self) -> dict[str, Any]:
        self.reads += 1
        if self.left <= 0:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.left -= 1
        return {"type": "http.request", "body": b"[" * self.size, "more_body": self.left > 0}


async def call(
    web: Web, method: str, path: str, upload: Upload, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """The app (on the same context as web.client's) called directly over ASGI."""
    app = create_app(web.settings, context=web.ctx)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("203.0.113.7", 50000), "server": ("test", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, upload, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def error_code(body: bytes) -> str:
    found = json.loads(body)
    assert set(found["error"]) == {"code", "message", "field"}
    return str(found["error"]["code"])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path", "declared"),
    [
        ("PUT", "/api/articles/x", 400 * MIB),  # the case: no key, 400 MB
        ("POST", "/api/views", 9 * 1024),  # public: 8 KiB is plenty for two ids
        ("POST", "/subscribe", 65 * 1024),  # a form: 64 KiB
        ("POST", "/api/subscribers", 17 * MIB),  # keyed: over max_body_bytes (16 MiB)
    ],
)
async def test_declared_length_over_the_cap_is_413_unread(
    web: Web, method: str, path: str, declared: int
) -> None:
    upload = Upload(chunks=declared // MIB + 1, size=MIB)
    headers = {"content-length": str(declared), "content-type": "application/json",
               "x-api-key": API_KEY}  # fmt: skip
    status, resp_headers, body = await call(web, method, path, upload, headers)
    assert status == 413 and error_code(body) == "too_large"
    assert resp_headers["connection"] == "close"  # the server stops taking the upload
    assert upload.reads == 0


@pytest.mark.asyncio
async def test_chunked_body_is_cut_at_the_cap(web: Web) -> None:
    upload = Upload(chunks=400, size=MIB)  # 400 MB, no Content-Length
    headers = {"content-type": "application/json", "x-api-key": API_KEY}
    status, _, body = await call(web, "POST", "/api/articles:batch", upload, headers)
    assert status == 413 and error_code(body) == "too_large"
    assert upload.reads == 17  # 16 MiB allowed: the 17th chunk passes the cap; no more reads


@pytest.mark.asyncio
async def test_chunked_view_beacon_is_cut_at_8_kib(web: Web) -> None:
    upload = Upload(chunks=100, size=1024)
    status, _, body = await call(web, "POST", "/api/views", upload, {})
    assert status == 413 and error_code(body) == "too_large"
    assert upload.reads == 9


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/api/articles/x"), ("POST", "/api/articles:batch"),
                         ("POST", "/api/subscribers")]
)  # fmt: skip
async def test_the_key_is_checked_before_the_body_is_read(web: Web, method: str, path: str) -> None:
    upload = Upload(chunks=4, size=MIB)
    headers = {"content-length": str(4 * MIB), "content-type": "application/json"}
    status, _, body = await call(web, method, path, upload, headers)
    assert status == 401 and error_code(body) == "unauthorized"
    assert upload.reads == 0


@pytest.mark.asyncio
async def test_a_body_under_the_cap_still_works(web: Web) -> None:
    form = {"email": "reader@example.kr", "frequency": "daily", "name": "가" * 50}
    r = await web.client.post("/subscribe", data=form)
    assert r.status_code == 200
    assert subscriber_status(web.engine, "reader@example.kr") == "pending"


# -- the served app: resident memory while a client uploads 64 MB ---------------------------


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """The highest resident size seen while the block runs (sampled every 5 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            self._stop.wait(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def upload(base: str, path: str, total: int, *, chunked: bool) -> bytes:
    """Send up to ``total`` bytes of body; stop when the server answers or hangs up."""
    host, port = base.removeprefix("http://").split(":")
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = f"{'PUT' if 'articles' in path else 'POST'} {path} HTTP/1.1\r\nHost: test\r\n"
    head += f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    chunk = b"[" * MIB
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
    deadline = time.monotonic() + 30
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < total and time.monotonic() < deadline:
                sock.sendall(frame)
                sent += len(chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed while we were still sending
            pass
        reply = b""
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            reply += data
            if b"\r\n\r\n" in reply:
                break
        return reply


@pytest.fixture
def served(settings: Settings, engine: Engine, clock: FixedClock) -> Iterator[str]:
    load_store(engine)
    clock.set(NOW)
    s = web_settings(settings)
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    with serve(create_app(s, context=ctx), bind_loopback()) as base:
        yield base


@pytest.mark.parametrize(
    ("path", "chunked"),
    [("/api/articles/x", False), ("/api/articles/x", True), ("/api/views", True),
     ("/api/views", False)],
)  # fmt: skip
def test_big_upload_keeps_memory_flat(served: str, path: str, chunked: bool) -> None:
    before = _rss()
    with PeakRss() as rss:
        reply = upload(served, path, 64 * MIB, chunked=chunked)
    status = reply.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 413") or status.startswith(b"HTTP/1.1 401"), reply[:200]
    assert rss.peak - before < 16 * MIB, f"RSS grew {(rss.peak - before) / MIB:.0f} MiB"
