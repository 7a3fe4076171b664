"""Tracked links: GET /c/TOKEN (and /c/TOKEN/READER) redirects to the article; /o/TOKEN is
the optional open pixel.

The answer is a 302 to the article's URL as stored (analytics/redirects.py), never to
anything the request carries; a retracted article goes to the site (or
``retracted_notice_url``); a forged token gets a small page linking to the site, 404. Each
click is counted in memory (analytics/counting.py) and written with the page views' flush.

These are the hottest requests right after a digest goes out, so ``FastClicks`` answers them
before the app's middleware and routing; the router below serves the same handler (and
documents it in /openapi.json) when the fast path is not installed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.analytics.counting import Click, ClickRecorder
from publisher.analytics.links import CLICK_PATH, OPEN_PATH
from publisher.analytics.redirects import LinkTargets, destination, parse_reader, parse_token
from publisher.analytics.scanners import Scanners
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.web import clientip
from publisher.web.context import WebContext, context_of
from publisher.web.pageviews import PIXEL

FLUSH_AT = 20_000  # buffered clicks that trigger an early background write
_NO_STORE = [(b"cache-control", b"no-store, max-age=0"), (b"x-robots-tag", b"noindex")]
FORGED = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>링크를 열 수 없습니다 · Link not found</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;\
line-height:1.6;word-break:keep-all">
<h1 style="font-size:1.3rem">링크를 열 수 없습니다</h1>
<p>이 링크는 잘못되었거나 손상되었습니다. 기사는 사이트에서 찾아 주세요.</p>
<p><a href="{site}">{name} 홈으로</a></p>
<hr><p lang="en">This link is broken or was changed.
Find the article on <a href="{site}">{name}</a>.</p>
</body></html>
"""
_PREFETCH = (b"sec-purpose", b"purpose", b"x-purpose", b"x-moz")
log = logging.getLogger("publisher.web.clicks")


@dataclass
class ClickState:
    recorder: ClickRecorder
    targets: LinkTargets
    busy: bool = False


def click_state(ctx: WebContext) -> ClickState:
    found = ctx.state.get("clicks")
    if isinstance(found, ClickState):
        return found
    s = ctx.settings
    try:
        scanners = Scanners.load(s.link_scanners_file)
    except InputError as exc:  # `publisher check` names it; clicks must still redirect
        log.error("clicks: %s; using the shipped scanner list", exc)
        scanners = Scanners.load()
    recorder = ClickRecorder(
        ctx.engine, scanners, window=s.click_window,
        burst_links=s.click_burst_links, burst_seconds=s.click_burst_seconds, auto_flush=False,
        per_reader=s.track_per_reader, per_ip_hour=s.clicks_per_ip_article_hour,
    )  # fmt: skip
    state = ctx.state["clicks"] = ClickState(recorder, LinkTargets(ctx.engine))
    ctx.flushers.append(recorder.flush)  # written with the page views, off the event loop
    return state


@dataclass(frozen=True, slots=True)
class Incoming:
    """What a click request says, read from the ASGI scope without building a Request."""

    method: str
    user_agent: str = ""
    prefetch: bool = False
    peer: str | None = None
    forwarded: tuple[str, ...] = ()

    @classmethod
    def of(cls, scope: Scope) -> Incoming:
        ua, prefetch, forwarded = "", False, []
        for name, value in scope["headers"]:
            if name == b"user-agent":
                ua = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
            elif name in _PREFETCH:
                v = value.lower()
                prefetch = prefetch or b"prefetch" in v or b"preview" in v
        client = scope.get("client")
        return cls(scope["method"], ua, prefetch, client[0] if client else None, tuple(forwarded))


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def answer(
    ctx: WebContext, req: Incoming, token: str, reader: str | None, *, pixel: bool
) -> Answer:
    """The whole click: check the token, count the click, redirect (or the pixel)."""
    secret = ctx.identity.secret
    day = int(time.time() // 86400)
    target = parse_token(secret, token, day)
    if target is None or (pixel != (target[3] == 0)):
        return _forged(ctx, req)
    state = click_state(ctx)
    found, info = (True, None) if pixel else state.targets.cached(target[3])
    if not found:
        try:
            info = await asyncio.to_thread(state.targets.load, target[3])
        except Exception:  # the store is down: the reader still gets to the site
            log.exception("clicks: cannot look up article %d", target[3])
    reader_id, issued = (parse_reader(secret, reader, day) if reader else None) or (None, None)
    ctx.ensure_flusher()
    state.recorder.record(
        Click(
            target=target, client=_client(ctx, req), user_agent=req.user_agent,
            head=req.method == "HEAD", prefetch=req.prefetch, reader=reader_id,
            reader_issued=issued, at=ctx.now(),
        )
    )  # fmt: skip
    if state.recorder.buffered >= FLUSH_AT and not state.busy:
        state.busy = True
        ctx.state["clicks-flush"] = asyncio.get_running_loop().create_task(_flush(ctx, state))
    if pixel:
        return 200, [(b"content-type", b"image/gif"), *_NO_STORE], PIXEL
    return 302, [(b"location", _location(destination(info, ctx.settings).url)), *_NO_STORE], b""


def _client(ctx: WebContext, req: Incoming) -> str:
    """The client's address (behind trusted proxies, the one they saw), an IPv6 one's /64."""
    if not ctx.settings.trust_forwarded_for:
        address = req.peer or "unknown"
    else:
        address = clientip.client_address(req.peer, req.forwarded, ctx.trusted_proxies)
    return clientip.limit_key(address)


@lru_cache(maxsize=65536)
def _location(url: str) -> bytes:
    """The Location header of a URL as stored (IRIs percent-encoded, as browsers send them)."""
    return quote(url, safe=":/%#?=@[]!$&'()*+,;~").encode("latin-1")


async def _flush(ctx: WebContext, state: ClickState) -> None:
    try:
        await ctx.flush_views()
    finally:
        state.busy = False


def _forged(ctx: WebContext, req: Incoming) -> Answer:
    s = ctx.settings
    html = FORGED.format(site=escape(s.site_url), name=escape(s.site_name)).encode()
    body = b"" if req.method == "HEAD" else html
    return 404, [(b"content-type", b"text/html; charset=utf-8"), *_NO_STORE], body


def _response(found: Answer) -> Response:
    status, headers, body = found
    response = Response(body, status_code=status)
    response.raw_headers = [*headers, (b"content-length", str(len(body)).encode())]
    return response


async def _send(found: Answer, send: Send) -> None:
    status, headers, body = found
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(tags=["clicks (public)"])
    responses: dict[int | str, dict[str, str]] = {
        302: {"description": "to the article (or the site, for a retracted one)"},
        404: {"description": "forged or unknown link: a small page linking to the site"},
    }

    @r.head(CLICK_PATH + "{token}", include_in_schema=False)
    @r.get(CLICK_PATH + "{token}", responses=responses)
    async def click(request: Request, token: str) -> Response:
        """A tracked digest link: counted (machines apart), then redirected to the article."""
        found = await answer(
            context_of(request), Incoming.of(request.scope), token, None, pixel=False
        )
        return _response(found)

    @r.head(CLICK_PATH + "{token}/{reader}", include_in_schema=False)
    @r.get(CLICK_PATH + "{token}/{reader}", responses=responses)
    async def reader_click(request: Request, token: str, reader: str) -> Response:
        """The same, from a per-reader link (``track_per_reader``)."""
        found = await answer(
            context_of(request), Incoming.of(request.scope), token, reader, pixel=False
        )
        return _response(found)

    @r.head(OPEN_PATH + "{token}", include_in_schema=False)
    @r.get(OPEN_PATH + "{token}")
    async def open_pixel(request: Request, token: str) -> Response:
        """The open pixel (``track_opens``); its counts are unreliable (see the README)."""
        found = await answer(
            context_of(request), Incoming.of(request.scope), token, None, pixel=True
        )
        return _response(found)

    @r.head(OPEN_PATH + "{token}/{reader}", include_in_schema=False)
    @r.get(OPEN_PATH + "{token}/{reader}")
    async def reader_open_pixel(request: Request, token: str, reader: str) -> Response:
        found = await answer(
            context_of(request), Incoming.of(request.scope), token, reader, pixel=True
        )
        return _response(found)

    return r


class FastClicks:
    """Answers GET/HEAD /c/… and /o/… before the rest of the app (middleware, routing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path: str = scope["path"]
            pixel = path.startswith(OPEN_PATH)
            if path.startswith(CLICK_PATH) or pixel:
                ctx = scope["app"].state.web  # Starlette set scope["app"] before us
                req = Incoming.of(scope)
                parts = path[3:].split("/")
                if 1 <= len(parts) <= 2 and all(parts):
                    reader = parts[1] if len(parts) == 2 else None
                    found = await answer(ctx, req, parts[0], reader, pixel=pixel)
                else:  # /c/ with nothing, or a URL pasted after it: a broken link
                    found = _forged(ctx, req)
                await _send(found, send)
                return
        await self.app(scope, receive, send)
