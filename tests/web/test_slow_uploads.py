"""Slow uploads under a real uvicorn with the daemon's connection guard: clients that send a
request head and then trickle the body neither hold their connections forever nor, at the
connection limit, lock everyone else out of /healthz."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.daemon.connguard import ConnectionGuard
from publisher.daemon.process import _guarded_protocol
from publisher.web.app import create_app
from publisher.web.context import WebContext
from publisher.web.ops import health_router
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import web_settings
from tests.webserver import bind_loopback, serve

CAP = 8
HEAD = (
    b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 60000\r\n\r\ne"
)


def served(
    settings: Settings, engine: Engine, clock: FixedClock, header_timeout: float
) -> Iterator[tuple[tuple[str, int], ConnectionGuard]]:
    load_store(engine)
    clock.set(NOW)
    s = web_settings(settings)
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    app = create_app(s, context=ctx)
    app.include_router(health_router(engine=engine, checks=dict))
    guard = ConnectionGuard(max_connections=CAP, header_timeout=header_timeout)
    sock = bind_loopback()
    with serve(app, sock, http=_guarded_protocol(guard), log_config=None):
        yield sock.getsockname()[:2], guard


@pytest.fixture
def patient(
    settings: Settings, engine: Engine, clock: FixedClock
) -> Iterator[tuple[tuple[str, int], ConnectionGuard]]:
    """A header timeout far beyond the test: only eviction can free a slot."""
    yield from served(settings, engine, clock, header_timeout=600)


@pytest.fixture
def quick(
    settings: Settings, engine: Engine, clock: FixedClock
) -> Iterator[tuple[tuple[str, int], ConnectionGuard]]:
    yield from served(settings, engine, clock, header_timeout=0.5)


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def healthz(where: tuple[str, int]) -> bytes:
    with socket.create_connection(where, timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        try:
            while chunk := conn.recv(65536):
                reply += chunk
        except ConnectionResetError:  # refused: the 503 may be cut off by the reset
            pass
    return reply


def closed_by_server(conn: socket.socket) -> bool:
    conn.setblocking(False)
    try:
        return conn.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_uploaders_at_the_limit_do_not_lock_out_healthz(
    patient: tuple[tuple[str, int], ConnectionGuard],
) -> None:
    where, guard = patient
    with ExitStack() as stack:
        for _ in range(CAP + 4):  # more slow uploaders than the server has slots
            conn = stack.enter_context(socket.create_connection(where, timeout=10))
            conn.sendall(HEAD)
        wait_until(lambda: guard.open_count == CAP, 10, "the slots to fill")
        for _ in range(5):
            assert healthz(where).startswith(b"HTTP/1.1 200"), "a slow upload must make room"
    assert guard.refused == 0


def test_an_upload_that_trickles_is_closed_after_the_header_timeout(
    quick: tuple[tuple[str, int], ConnectionGuard],
) -> None:
    where, guard = quick
    with socket.create_connection(where, timeout=10) as conn:
        conn.sendall(HEAD)

        def gone() -> bool:
            if closed_by_server(conn):
                return True
            conn.setblocking(True)
            try:
                conn.sendall(b"e")  # a byte now and then: far below the minimum rate
            except OSError:
                return True
            return False

        wait_until(gone, 15, "the server to close a trickling upload")
    assert guard.timed_out >= 1
    assert healthz(where).startswith(b"HTTP/1.1 200")
