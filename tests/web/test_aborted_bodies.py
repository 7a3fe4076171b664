"""A client that closes its connection mid-body is not an error: nothing above DEBUG is logged.

Served by a real uvicorn (with the daemon's ``log_config=None``, so uvicorn's own
"Exception in ASGI application" would reach the log too).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, load_store, schedules
from tests.webkit import API_KEY, web_settings
from tests.webserver import bind_loopback, serve


@pytest.fixture
def served(settings: Settings, engine: Engine, clock: FixedClock) -> Iterator[tuple[str, int]]:
    load_store(engine)
    clock.set(NOW)
    s = web_settings(settings)
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    sock = bind_loopback()
    with serve(create_app(s, context=ctx), sock, log_config=None):
        host, port = sock.getsockname()[:2]
        yield host, port


def abort_upload(where: tuple[str, int], head: str) -> None:
    """Announce 100 bytes, send one, close; then wait for the server to close its side."""
    with socket.create_connection(where, timeout=10) as conn:
        conn.sendall(head.encode() + b"Content-Length: 100\r\n\r\n{")
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(4096):
            pass


def ping(where: tuple[str, int]) -> bytes:
    """A full request after the aborted ones: the server has handled every earlier one."""
    with socket.create_connection(where, timeout=10) as conn:
        conn.sendall(b"GET /api/most-viewed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


HEADS = {
    "views": "POST /api/views HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
    "form": "POST /subscribe HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n",
    "api": f"POST /api/articles:batch HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\n"
    "Content-Type: application/json\r\n",
}


@pytest.mark.parametrize("route", sorted(HEADS))
def test_aborted_uploads_log_nothing_above_debug(
    served: tuple[str, int], caplog: pytest.LogCaptureFixture, route: str
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(50):
        abort_upload(served, HEADS[route])
    assert ping(served).startswith(b"HTTP/1.1 200")
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert [f"{r.name}: {r.getMessage()}" for r in loud] == []
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
    ],
    ids=["cl-and-te", "two-cl"],
)
def test_requests_the_parser_refuses_are_the_documented_plain_400(
    served: tuple[str, int], framing: bytes
) -> None:
    """The README says so: uvicorn answers these itself, in plain text, not the JSON shape."""
    with socket.create_connection(served, timeout=10) as conn:
        conn.sendall(b"POST /api/views HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n0\r\n\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400")
    assert reply.endswith(b"Invalid HTTP request received.")
