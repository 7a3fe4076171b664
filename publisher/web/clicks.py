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
import time
from dataclasses import dataclass
from html import escape

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.analytics.counting import Click, ClickRecorder
from publisher.analytics.links import CLICK_PATH, OPEN_PATH
from publisher.analytics.redirects import LinkTargets, destination, parse_reader, parse_token
from publisher.analytics.scanners import Scanners
from publisher.core.config import Settings
from publisher.web.context import WebContext, context_of
from publisher.web.pageviews import PIXEL

FLUSH_AT = 20_000  # buffered clicks that trigger an early background write
NO_STORE = {"Cache-Control": "no-store, max-age=0", "X-Robots-Tag": "noindex"}
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
_PREFETCH = ("sec-purpose", "purpose", "x-purpose", "x-moz")


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
    recorder = ClickRecorder(
        ctx.engine, Scanners.load(s.link_scanners_file), window=s.click_window,
        burst_links=s.click_burst_links, burst_seconds=s.click_burst_seconds, auto_flush=False,
        per_reader=s.track_per_reader,
    )  # fmt: skip
    state = ctx.state["clicks"] = ClickState(recorder, LinkTargets(ctx.engine))
    ctx.flushers.append(recorder.flush)  # written with the page views, off the event loop
    return state


def _prefetch(request: Request) -> bool:
    headers = request.headers
    return any(
        "prefetch" in v or "preview" in v
        for v in (headers.get(h, "").lower() for h in _PREFETCH)
        if v
    )


async def answer(request: Request, token: str, reader: str | None, *, pixel: bool) -> Response:
    """The whole click: check the token, count the click, redirect (or the pixel)."""
    ctx = context_of(request)
    secret = ctx.identity.secret
    day = int(time.time() // 86400)
    target = parse_token(secret, token, day)
    if target is None or (pixel != (target[3] == 0)):
        return _forged(ctx, request)
    state = click_state(ctx)
    found, info = (True, None) if pixel else state.targets.cached(target[3])
    if not found:
        info = await asyncio.to_thread(state.targets.load, target[3])
    reader_id = parse_reader(secret, reader, day) if reader else None
    ctx.ensure_flusher()
    state.recorder.record(
        Click(
            target=target, client=ctx.client_ip(request),
            user_agent=request.headers.get("user-agent", ""), head=request.method == "HEAD",
            prefetch=_prefetch(request), reader=reader_id, at=ctx.now(),
        )
    )  # fmt: skip
    if state.recorder.buffered >= FLUSH_AT and not state.busy:
        state.busy = True
        ctx.state["clicks-flush"] = asyncio.get_running_loop().create_task(_flush(ctx, state))
    if pixel:
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)
    return RedirectResponse(destination(info, ctx.settings).url, 302, headers=NO_STORE)


async def _flush(ctx: WebContext, state: ClickState) -> None:
    try:
        await ctx.flush_views()
    finally:
        state.busy = False


def _forged(ctx: WebContext, request: Request) -> Response:
    s = ctx.settings
    html = FORGED.format(site=escape(s.site_url), name=escape(s.site_name))
    body = "" if request.method == "HEAD" else html
    return HTMLResponse(body, status_code=404, headers=NO_STORE)


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
        return await answer(request, token, None, pixel=False)

    @r.head(CLICK_PATH + "{token}/{reader}", include_in_schema=False)
    @r.get(CLICK_PATH + "{token}/{reader}", responses=responses)
    async def reader_click(request: Request, token: str, reader: str) -> Response:
        """The same, from a per-reader link (``track_per_reader``)."""
        return await answer(request, token, reader, pixel=False)

    @r.head(OPEN_PATH + "{token}", include_in_schema=False)
    @r.get(OPEN_PATH + "{token}")
    async def open_pixel(request: Request, token: str) -> Response:
        """The open pixel (``track_opens``); its counts are unreliable (see the README)."""
        return await answer(request, token, None, pixel=True)

    @r.head(OPEN_PATH + "{token}/{reader}", include_in_schema=False)
    @r.get(OPEN_PATH + "{token}/{reader}")
    async def reader_open_pixel(request: Request, token: str, reader: str) -> Response:
        return await answer(request, token, reader, pixel=True)

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
                # scope["app"] is set (Starlette did it), so context_of works on this request
                request = Request(scope, receive)
                parts = path[3:].split("/")
                if 1 <= len(parts) <= 2 and all(parts):
                    reader = parts[1] if len(parts) == 2 else None
                    response = await answer(request, parts[0], reader, pixel=pixel)
                else:  # /c/ with nothing, or a URL pasted after it: a broken link
                    response = _forged(context_of(request), request)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
