"""ASGI middleware that guards every route before it runs: a NUL in the URL, body size, and
same-origin forms.

Both are pure ASGI (no request object, no body read), so a refused request costs a few
microseconds and no memory, whatever the client sends after its headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.web import plainpages
from publisher.web.errors import error_response

KIB = 1024
FORM_BODY_MAX = 64 * KIB  # the largest reader form (preferences, share note) is under 2 KiB
VIEW_BODY_MAX = 8 * KIB  # {"article_id", "visitor"}: 200 characters each, even \u-escaped
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(Exception):
    """Raised from receive() once a body without a (truthful) Content-Length passes the cap."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def body_limits(max_body_bytes: int, hooks_max: int = FORM_BODY_MAX) -> Callable[[str], int]:
    """The cap per path: small for the public view beacon and the HTML forms, the setting
    for the keyed API (CSV imports and article batches are legitimately large), and
    ``hooks_max`` (webhook_max_bytes) for the sending services' webhooks under /hooks/."""

    def limit(path: str) -> int:
        if path.startswith("/hooks/"):
            return hooks_max
        if path == "/api/views":
            return min(VIEW_BODY_MAX, max_body_bytes)
        if path.startswith("/api/"):
            return max_body_bytes
        return min(FORM_BODY_MAX, max_body_bytes)

    return limit


class BodyLimit:
    """413 before reading a body whose Content-Length is over the path's cap; a chunked body
    is counted as it arrives and refused the moment it passes the cap."""

    def __init__(
        self, app: ASGIApp, limit_for: Callable[[str], int], *, language: str = "ko"
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.language = language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit():
            if int(declared) > limit:
                await self._too_large(scope, receive, send, limit)
            else:  # the server delivers no more than the declared length: nothing to count
                await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send, limit)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        # "Connection: close": the server drops the rest of the upload instead of reading it.
        # A browser sending a reader form gets a page; the API (and scripts) get JSON.
        path: str = scope["path"]
        response: Response
        if not path.startswith("/api/") and plainpages.wants_html(Headers(scope=scope)):
            response = plainpages.page(self.language, "too_large", status=413)
            response.headers["Connection"] = "close"
        else:
            response = error_response(413, "too_large", f"request body over {limit} bytes",
                                      headers={"Connection": "close"})  # fmt: skip
        await response(scope, receive, send)


class NoNulInUrl:
    """400 for a request whose path or query string holds a NUL (%00). No id, token, slug or
    search term contains one, and PostgreSQL refuses it as a query parameter (a DataError, so a
    500 on every route that looks one up), so it is refused before any route sees it. Not
    before FastClicks (web/app.py), which answers /c/ and /o/ first: a NUL there is a forged
    token, its 404 page, and nothing is looked up."""

    def __init__(self, app: ASGIApp, *, language: str = "ko") -> None:
        self.app = app
        self.language = language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _nul_in_url(scope):
            path: str = scope["path"]
            response: Response
            if not path.startswith("/api/") and plainpages.wants_html(Headers(scope=scope)):
                response = plainpages.page(self.language, "bad_address", status=400)
            else:
                response = error_response(400, "bad_request", "the URL holds a NUL (%00)")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _nul_in_url(scope: Scope) -> bool:
    # The path arrives decoded; the query string as sent (its %00 is decoded per parameter).
    query = bytes(scope.get("query_string", b""))
    return "\0" in scope["path"] or b"%00" in query or b"\0" in query


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """scheme://host[:port] as a browser writes it in Origin (no default port, lower case)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def loopback_aliases(url: str) -> list[str]:
    """A local install (public_base_url on 127.0.0.1, localhost or [::1]) is opened by any of
    the three names; the others are the same machine, so forms from them are ours too."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return []
    if (parts.hostname or "").lower() not in ("127.0.0.1", "localhost", "::1"):
        return []
    suffix = f":{port}" if port else ""
    found = (origin_of(f"{parts.scheme}://{name}{suffix}") for name in LOOPBACK_NAMES)
    return [o for o in found if o and o != origin_of(url)]


class SameOrigin:
    """Refuse (403) a state-changing form POST that a browser sent from another site.

    A browser sends Origin on every cross-site POST (Referer when an old one does not), so
    one that names another site, or "null" (a sandboxed or no-referrer page), is refused.
    A request with neither header is not a cross-site browser request (curl, a mail
    provider's one-click unsubscribe) and passes. The keyed API is exempt (the key is the
    proof), and so is ``skip`` (paths whose secret token already is).

    Our own pages must therefore not send "Referrer-Policy: no-referrer" (which makes the
    browser send "Origin: null" from them): HTML answers get "same-origin" instead, which
    keeps tokens in URLs from leaking to other sites just the same.
    """

    def __init__(
        self, app: ASGIApp, allowed: Iterable[str], *, exempt: tuple[str, ...] = ("/api/",),
        skip: tuple[str, ...] = (), language: str = "ko",
    ) -> None:  # fmt: skip
        self.app = app
        self.allowed = frozenset(o.lower() for o in allowed)
        self.exempt = exempt
        self.skip = skip
        self.language = language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE and not path.startswith(self.skip) and self._foreign(scope):
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, receive, _same_origin_referrer(send))

    def _foreign(self, scope: Scope) -> bool:
        origin = _header(scope, b"origin")
        if origin is None:
            referer = _header(scope, b"referer")
            if referer is None:
                return False
            origin = referer
        return (origin_of(origin) or "null") not in self.allowed

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = plainpages.page(self.language, "foreign", status=403)
        await response(scope, receive, send)


def _same_origin_referrer(send: Send) -> Send:
    """HTML answers carry "Referrer-Policy: same-origin" (in place of none or "no-referrer")."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            found = {bytes(k).lower(): bytes(v) for k, v in headers}
            html = found.get(b"content-type", b"").startswith(b"text/html")
            if html and found.get(b"referrer-policy", b"no-referrer") == b"no-referrer":
                headers = [(k, v) for k, v in headers if bytes(k).lower() != b"referrer-policy"]
                headers.append((b"referrer-policy", b"same-origin"))
                message = {**message, "headers": headers}
        await send(message)

    return wrapped
