"""create_app(): the ASGI application. Each area adds its routes through a router factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI
from starlette.middleware.gzip import GZipMiddleware

from publisher import __version__
from publisher.clock import Clock, SystemClock
from publisher.config import Settings
from publisher.web import feeds

RouterFactory = Callable[[Settings], APIRouter]
# Later areas append their factory here; order is the matching order.
ROUTERS: tuple[RouterFactory, ...] = (feeds.router,)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    routers: Sequence[RouterFactory] = ROUTERS,
) -> FastAPI:
    app = FastAPI(
        title=settings.site_name,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    # Feeds are text: gzip typically shrinks them 4-6x for clients that ask.
    app.add_middleware(GZipMiddleware, minimum_size=500)
    for make in routers:
        app.include_router(make(settings))
    return app
