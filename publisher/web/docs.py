"""The landing page at / and the API docs at /docs, with Swagger UI served from this app.

FastAPI's own /docs loads Swagger UI from a CDN, so it is blank offline or behind a strict
firewall. The files come from the fastapi-offline package (the only import of it). Every URL
in the page is relative, so it works behind a proxy that serves the app under a prefix.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from publisher import __version__
from publisher.core.config import Settings
from publisher.web import plainpages

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
# No "validator" badge: Swagger UI would fetch it from validator.swagger.io.
UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None, "defaultModelsExpandDepth": 0}


def _asset_dir() -> Any:
    return files("fastapi_offline") / "static"


def router(settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    title = f"{settings.site_name} publisher API"

    @r.get("/")
    async def home(request: Request) -> Response:
        """Browsers get a page that leads to the subscribe form; API clients, where to look."""
        if plainpages.wants_html(request.headers):
            lang = request.query_params.get("lang") or settings.language
            links = (("subscribe", "subscribe"), ("site", settings.site_url))
            return plainpages.page(lang, "home", site=settings.site_name, links=links)
        return JSONResponse({"service": "publisher", "version": __version__, "docs": "docs",
                             "openapi": "openapi.json"})  # fmt: skip

    @r.get("/docs")
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="openapi.json", title=title,
            swagger_js_url="docs/assets/swagger-ui-bundle.js",
            swagger_css_url="docs/assets/swagger-ui.css",
            swagger_favicon_url="docs/assets/favicon.png", swagger_ui_parameters=UI_PARAMETERS,
        )  # fmt: skip

    @r.get("/docs/assets/{name}")
    async def asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404)
        path = _asset_dir() / name
        return FileResponse(str(path), media_type=media_type,
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    return r
