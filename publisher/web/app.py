"""create_app(): the ASGI application. Each area adds its routes through a router factory."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher import __version__
from publisher.console import routes as console
from publisher.core.clock import Clock, SystemClock
from publisher.core.config import Settings
from publisher.web import (
    api,
    consentpages,
    demo,
    docs,
    editorial,
    errors,
    feeds,
    guards,
    hooks,
    pages,
    pageviews,
    preferences,
    share,
)
from publisher.web import syndication as syndication_routes
from publisher.web.clicks import FastClicks
from publisher.web.clicks import router as clicks_router
from publisher.web.context import WebContext
from publisher.web.reports import router as reports_router

GIL_SWITCH_INTERVAL = 0.001  # seconds
# RFC 8058 one-click unsubscribe: mail providers POST from anywhere; the token is the proof.
ONE_CLICK = ("/u/",)
RouterFactory = Callable[[Settings], APIRouter]
# Later areas append their factory here; order is the matching order.
ROUTERS: tuple[RouterFactory, ...] = (
    feeds.router, pages.router, preferences.router, share.router, pageviews.router, api.router,
    docs.router,
    demo.router, consentpages.router, editorial.router, syndication_routes.router,
    console.router,
    hooks.router,
    clicks_router,
    reports_router,
)  # fmt: skip


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    routers: Sequence[RouterFactory] = ROUTERS,
    context: WebContext | None = None,
) -> FastAPI:
    """``context`` carries the store, clock and view recorder (built from settings if None)."""
    ctx = context or WebContext(settings, clock=clock or SystemClock())
    # Requests hand store work to a writer thread; with CPython's default 5 ms GIL switch
    # interval the event loop waits up to 5 ms to get the answer back (bench/web.py: share
    # p99 45-300 ms at 5 ms, 17-38 ms at 0.5-1 ms).
    if sys.getswitchinterval() > GIL_SWITCH_INTERVAL:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    app = FastAPI(
        title=f"{settings.site_name} publisher",
        version=__version__,
        docs_url=None,  # web/docs.py serves /docs with local Swagger UI files (no CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=ctx.lifespan,
        # Behind a proxy under a path prefix, Starlette's slash redirect names the backend's
        # own scheme and path ("http://host/subscribe" for "https://host/newsletter/subscribe/"):
        # a trailing-slash path is simply not found.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.clock = ctx.clock
    app.state.web = ctx
    errors.install(app)
    # Feeds and pages are text: gzip typically shrinks them 4-6x for clients that ask. POSTs
    # (view hits, forms) answer with a few bytes, so they skip the wrapper's per-request cost.
    app.add_middleware(GetOnlyGZip, minimum_size=500)
    # The site's own pages read most-viewed and post views; the API key header is not allowed.
    app.add_middleware(
        CORSMiddleware, allow_origins=[ctx.cors_origin], allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"], max_age=3600,
    )  # fmt: skip
    # Added last, so they run first: nothing reads a body the guards refuse.
    app.add_middleware(
        guards.SameOrigin, allowed=_form_origins(ctx), skip=ONE_CLICK, language=settings.language
    )
    app.add_middleware(
        guards.BodyLimit,
        limit_for=guards.body_limits(settings.max_body_bytes, settings.webhook_max_bytes),
        language=settings.language,
    )  # fmt: skip
    app.add_middleware(guards.NoNulInUrl, language=settings.language)
    # Tracked digest links are answered before everything above (web/clicks.py).
    if clicks_router in routers:
        app.add_middleware(FastClicks)
    for make in routers:
        app.include_router(make(settings))
    return app


def _form_origins(ctx: WebContext) -> list[str]:
    """Where our forms live: our own pages, and the news site's (which may embed them)."""
    found = [guards.origin_of(ctx.settings.public_base_url), guards.origin_of(ctx.cors_origin)]
    return [o for o in found if o] + guards.loopback_aliases(ctx.settings.public_base_url)


class GetOnlyGZip:
    """Starlette's GZipMiddleware for GET and HEAD requests only."""

    def __init__(self, app: ASGIApp, minimum_size: int = 500) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
