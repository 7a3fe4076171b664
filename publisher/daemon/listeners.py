"""The daemon's listening sockets, bound before anything else starts.

A port in use or an unknown host is one line for the operator (``ListenError``) and exit 2,
never a half-started daemon. uvicorn then serves on these sockets (process.py).
"""

from __future__ import annotations

import errno
import socket

from publisher.core.errors import PublisherError

__all__ = ["ListenError", "bind", "bind_all"]

LISTEN_BACKLOG = 2048  # uvicorn's default


class ListenError(PublisherError):
    """A listener could not be opened (port in use, unknown host): one line for the operator."""


def bind_all(wanted: dict[str, tuple[str, int, str]]) -> dict[str, socket.socket]:
    """Bind every listener in ``wanted`` ({name: (host, port, setting keys)}), or none: on a
    failure the ones already bound are closed."""
    out: dict[str, socket.socket] = {}
    try:
        for name, (host, port, keys) in wanted.items():
            out[name] = bind(host, port, keys)
    except ListenError:
        for sock in out.values():
            sock.close()
        raise
    return out


def bind(host: str, port: int, keys: str) -> socket.socket:
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(f"{keys}: cannot resolve {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        # Listen now: with SO_REUSEADDR two binds of one port both succeed on Linux, and only
        # listen() finds the clash. Here it is one line and exit 2; later (in uvicorn) it
        # would be a half-started daemon.
        sock.listen(LISTEN_BACKLOG)
        sock.set_inheritable(False)
    except OSError as exc:
        sock.close()
        why = "the address is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ListenError(
            f"{keys}: cannot listen on {host}:{port}: {why} (another publisher running? "
            f"set {keys.split('/')[1]} to a free port); nothing was started"
        ) from None
    return sock
