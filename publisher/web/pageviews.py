"""Public view counting (POST /api/views, GET /v/{id}.gif) and GET /api/most-viewed.

Hits only touch memory on the request path (ViewRecorder); a background task writes them
from a worker thread, so the event loop never waits for the store.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from publisher.core.config import Settings
from publisher.core.errors import ParseError
from publisher.core.storable import unstorable
from publisher.core.timeparse import parse_duration
from publisher.intake.pageviews import most_viewed
from publisher.web.bodies import read_object
from publisher.web.context import WebContext, context_of
from publisher.web.errors import ApiError

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
FLUSH_AT = 20_000  # buffered hits that trigger an early background write
_VIEW_BODY = {
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["article_id", "visitor"],
        "properties": {"article_id": {"type": "string", "minLength": 1, "maxLength": 200},
                       "visitor": {"type": "string", "minLength": 1, "maxLength": 200}},
    }}},
    "required": True,
}  # fmt: skip


class IpWindow:
    """Per-IP counts in the current minute; the whole table is dropped when the minute turns."""

    def __init__(self) -> None:
        self._minute = 0
        self._counts: dict[str, int] = {}

    def allow(self, ip: str, limit: int, now: float) -> bool:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._counts = minute, {}
        n = self._counts.get(ip, 0) + 1
        self._counts[ip] = n
        return n <= limit


def _state(ctx: WebContext) -> dict[str, Any]:
    found: dict[str, Any] = ctx.state.setdefault(
        "views", {"ips": IpWindow(), "cache": {}, "busy": False}
    )
    return found


def _record(ctx: WebContext, request: Request, article_id: str, visitor: str) -> None:
    state = _state(ctx)
    ip = ctx.client_ip(request)
    if not state["ips"].allow(ip, ctx.settings.views_per_ip_minute, time.monotonic()):
        raise ApiError(429, "too many requests", headers={"Retry-After": "60"})
    ua = request.headers.get("user-agent", "")
    ctx.ensure_flusher()
    # Keyed on the client IP (an IPv6 client's /64): visitor ids are the client's to invent.
    ctx.recorder.record_hit(article_id, visitor, ua, ctx.now(), source=ip)
    if ctx.recorder.buffered >= FLUSH_AT and not state["busy"]:
        state["busy"] = True

        async def flush() -> None:
            try:
                await ctx.flush_views()
            finally:
                state["busy"] = False

        state["task"] = asyncio.get_running_loop().create_task(flush())


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(tags=["views (public)"])

    @r.post(
        "/api/views",
        status_code=204,
        openapi_extra={"requestBody": _VIEW_BODY},
        responses={422: {"description": "invalid body"}, 429: {"description": "rate limit"}},
    )
    async def post_view(request: Request) -> Response:  # fmt: skip
        """Count one page view; bots are ignored and repeats within 30 minutes collapsed.

        Any content type is read as JSON, so `navigator.sendBeacon` works without a preflight.
        """
        ctx = context_of(request)
        data = await read_object(request, any_type=True)
        for key in ("article_id", "visitor"):
            value = data.get(key)
            if not isinstance(value, str) or not 0 < len(value) <= 200:
                raise ApiError(422, "a string of 1-200 characters is required", field=key)
            # A NUL (PostgreSQL) or a lone surrogate (both stores: no UTF-8 form) would be
            # buffered, and then fail the whole flush, again at every retry: no view of any
            # reader would be stored until a restart.
            if (why := unstorable(value)) is not None:
                raise ApiError(422, why, field=key)
        _record(ctx, request, data["article_id"], data["visitor"])
        return Response(status_code=204)

    @r.get(
        "/v/{article_id}.gif",
        response_class=Response,
        responses={200: {"content": {"image/gif": {}}}},
    )
    async def pixel(request: Request, article_id: str) -> Response:  # fmt: skip
        """A 1×1 GIF for pages that cannot run scripts; the visitor is the IP and user agent."""
        ctx = context_of(request)
        if 0 < len(article_id) <= 200:
            ua = request.headers.get("user-agent", "")
            visitor = hashlib.sha256(f"{ctx.client_ip(request)}|{ua}".encode()).hexdigest()[:24]
            _record(ctx, request, article_id, visitor)
        return Response(PIXEL, media_type="image/gif",
                        headers={"Cache-Control": "no-store, max-age=0"})  # fmt: skip

    @r.get("/api/most-viewed")
    async def get_most_viewed(
        request: Request,
        window: str = Query("24h", pattern=r"^[1-9]\d{0,3}[hd]$"),
        limit: int = Query(5, ge=1, le=50),
        section: str | None = Query(None, max_length=64),
    ) -> JSONResponse:
        """많이 본 뉴스: the top published articles by views in the window (public, cached)."""
        ctx = context_of(request)
        try:
            span = parse_duration(window)
        except ParseError as exc:
            raise ApiError(422, str(exc), field="window") from None
        if span.total_seconds() > 90 * 86400:
            raise ApiError(422, "window is at most 90 days", field="window")
        key = (window, limit, section or "")
        cache: dict[tuple[str, int, str], tuple[float, Any]] = _state(ctx)["cache"]
        hit = cache.get(key)
        ttl = ctx.settings.most_viewed_cache_seconds
        if hit is None or hit[0] < time.monotonic():
            ranked = await asyncio.to_thread(
                most_viewed, ctx.engine, now=ctx.now(), window=span, limit=limit,
                section=section or None, weights=ctx.settings.most_viewed_sources,
            )  # fmt: skip
            items = [
                {"rank": x.rank, "id": x.article.external_id, "title": x.article.title,
                 "url": x.article.url, "section": x.article.section,
                 "section_name": x.article.section_name, "image_url": x.article.image_url,
                 "views": x.views}
                for x in ranked
            ]  # fmt: skip
            if len(cache) > 256:
                cache.clear()
            hit = cache[key] = (time.monotonic() + ttl, {"window": window, "items": items})
        return JSONResponse(hit[1], headers={"Cache-Control": f"public, max-age={ttl}"})

    return r
