"""Protection of the HTTP listeners against slow and idle clients (no third-party imports).

uvicorn has no timeout on a request head: a client that opens a connection and trickles its
headers (or sends nothing) holds a socket and a file descriptor for as long as it likes, and a
thousand of them exhaust the process's descriptors so that nobody else is served. uvicorn's own
``limit_concurrency`` does not help: it answers 503 to every real request once slow clients fill
the slots. The guard here:

- closes a connection whose request head has not arrived within ``header_timeout`` (counted
  from the connection, or from the end of the previous response on a kept-alive connection);
- closes a connection whose request body falls behind: once the head is in, the body must
  arrive within ``header_timeout`` plus one second per ``BODY_MIN_RATE`` bytes received (an
  average of 1 KiB/s after a grace; time the server itself stops reading is not counted), so
  a client trickling a byte every few seconds is gone within ``header_timeout`` too;
- keeps at most ``max_connections`` open: at the limit, a new connection evicts the connection
  that has waited longest for its request head (a slow client, by construction), else the
  upload furthest behind its deadline, and only when every connection is busy with a request
  the application is handling is the new one refused;
- rate-limits asyncio's "socket.accept() out of system resource" error to one line a minute.

process.py plugs it into uvicorn's protocol class; the guard only sees ``Tracked`` objects.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("publisher.web")
# Descriptors kept free for everything but HTTP clients: the database, the SMTP pool, files.
FD_HEADROOM = 128
_SWEEP_SECONDS = 1.0
BUSY_REPLY = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
# The slowest body a client may send, on average, after the first ``header_timeout``: a 64 KiB
# form takes at most a minute more, a 16 MiB import under five hours; a byte every 3 s fails.
BODY_MIN_RATE = 1024  # bytes per second


class Tracked(Protocol):
    """What the guard needs from a connection: a way to close it, and whether the server has
    stopped reading it (flow control: the application has not consumed what arrived)."""

    def close_now(self) -> None: ...

    def reading_paused(self) -> bool: ...


class ConnectionGuard:
    def __init__(
        self,
        *,
        max_connections: int,
        header_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self._clock = clock
        self._open: set[Tracked] = set()
        # Connections waiting for a request head, oldest first, with the time they began.
        self._waiting: OrderedDict[Tracked, float] = OrderedDict()
        # Connections receiving a request body, with the time by which it must be complete.
        self._receiving: dict[Tracked, float] = {}
        self._last_sweep = clock()
        self._sweeper: asyncio.TimerHandle | None = None
        self.evicted = 0
        self.timed_out = 0
        self.refused = 0

    @property
    def open_count(self) -> int:
        return len(self._open)

    def opened(self, conn: Tracked) -> bool:
        """A new connection; returns False when it must be refused (every slot busy)."""
        if len(self._open) >= self.max_connections:
            victim = self._evictable()
            if victim is None:
                self.refused += 1
                return False
            self.evicted += 1
            self._forget(victim)
            victim.close_now()
        self._open.add(conn)
        self.waiting(conn)
        return True

    def waiting(self, conn: Tracked) -> None:
        """The connection now waits for a request head (new, or its response was sent)."""
        if conn not in self._open:
            return
        self._receiving.pop(conn, None)  # answered before its body was all in (a 413, a 401)
        self._waiting[conn] = self._clock()
        self._waiting.move_to_end(conn)
        self._arm()

    def is_waiting(self, conn: Tracked) -> bool:
        return conn in self._waiting

    def busy(self, conn: Tracked) -> None:
        """The whole request arrived: the application has the connection now."""
        self._waiting.pop(conn, None)
        self._receiving.pop(conn, None)

    def receiving(self, conn: Tracked, received: int) -> None:
        """The head is in and ``received`` more bytes of the body arrived (more to come)."""
        if conn not in self._open:
            return
        self._waiting.pop(conn, None)
        credit = received / BODY_MIN_RATE
        deadline = self._receiving.get(conn)
        if deadline is None:
            deadline = self._clock() + self.header_timeout
        self._receiving[conn] = deadline + credit
        self._arm()

    def closed(self, conn: Tracked) -> None:
        self._forget(conn)

    def _forget(self, conn: Tracked) -> None:
        self._open.discard(conn)
        self._waiting.pop(conn, None)
        self._receiving.pop(conn, None)

    def _evictable(self) -> Tracked | None:
        """Who makes room: the longest wait for a head, else the upload furthest behind."""
        if self._waiting:
            return next(iter(self._waiting))
        if self._receiving:
            return min(self._receiving.items(), key=lambda item: item[1])[0]
        return None

    def _arm(self) -> None:
        # One timer for all connections, and only while some wait: an idle server never wakes.
        if self._sweeper is None and (self._waiting or self._receiving):
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(_SWEEP_SECONDS, self.sweep)

    def sweep(self) -> None:
        self._sweeper = None
        now = self._clock()
        elapsed, self._last_sweep = now - self._last_sweep, now
        limit = now - self.header_timeout
        while self._waiting:
            conn, since = next(iter(self._waiting.items()))
            if since > limit:
                break
            self._time_out(conn)
        for conn, deadline in list(self._receiving.items()):
            if conn.reading_paused():  # our reader is behind, not the client
                self._receiving[conn] = deadline + elapsed
            elif deadline <= now:
                self._time_out(conn)
        self._arm()

    def _time_out(self, conn: Tracked) -> None:
        self.timed_out += 1
        self._forget(conn)
        conn.close_now()


class AcceptErrorFilter:
    """A loop exception handler: "out of system resource" at most once a minute, no traceback."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last: float | None = None
        self._hidden = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not (isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)):
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if self._last is not None and now - self._last < self.every:
            self._hidden += 1
            return
        more = f" ({self._hidden} more since the last report)" if self._hidden else ""
        log.error(
            "cannot accept connections: %s%s; raise LimitNOFILE or lower web_max_connections",
            exc.strerror, more,
        )  # fmt: skip
        self._last, self._hidden = now, 0


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one (systemd's default soft limit is 1,024
    with a far higher hard limit); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(wanted: int, fd_limit: int) -> int:
    """``web_max_connections``, lowered to what the descriptor limit leaves room for."""
    room = max(16, fd_limit - FD_HEADROOM)
    if wanted > room:
        log.warning(
            "web_max_connections %d is above what the descriptor limit (%d) allows; using %d "
            "(raise LimitNOFILE)", wanted, fd_limit, room,
        )  # fmt: skip
        return room
    return wanted
