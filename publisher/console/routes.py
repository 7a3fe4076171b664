"""The console's router (mounted by web/app.py): its pages and its own CSS and JS."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from publisher.console import (
    adminpages,
    alertpages,
    approvalpages,
    articlepages,
    digestpages,
    holdpages,
    mailpages,
    overview,
    readerpages,
    signin,
)
from publisher.console.kit import BASE, refused_page
from publisher.core.config import Settings
from publisher.web import errors
from publisher.web.context import context_of

ASSETS = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
# Public paths: everything else under /admin needs a session (tests/console enumerate them).
PUBLIC = (BASE + "/signin", BASE + "/welcome/{token}", BASE + "/static/{name}", BASE)


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    errors.pages_under(BASE, refused_page)  # a refused action: a console page to a browser

    @r.get(BASE)
    async def bare() -> Response:
        return Response(status_code=308, headers={"Location": BASE + "/"})

    @r.get(BASE + "/static/{name}")
    async def asset(request: Request, name: str) -> Response:
        if name not in ASSETS:  # a fixed list: no path from the request reaches the disk
            raise HTTPException(404, "not found")
        path = context_of(request).settings.templates_dir / "console" / "static" / name
        return FileResponse(
            path, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=3600"}
        )

    for part in (
        signin,
        overview,
        digestpages,
        holdpages,
        approvalpages,
        readerpages,
        mailpages,
        articlepages,
        alertpages,
        adminpages,
    ):
        r.include_router(part.router())
    return r
