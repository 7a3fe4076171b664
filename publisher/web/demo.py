"""GET /demo/images/{name}: the sample articles' images, in demo mode only.

Feeds and mail drop `data:` images, so the demo serves real files from samples/images/ and
the sample articles point there (see publisher.intake.demodata). Outside demo mode the route
does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from publisher.core.config import Settings
from publisher.intake.demodata import IMAGE_PATH, load_images


def router(settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    if not settings.demo:
        return r
    images = load_images()  # a fixed allow-list: a name never reaches the file system

    # HEAD too: feed readers check an enclosure's size and type before fetching it.
    @r.api_route(IMAGE_PATH + "{name}", methods=["GET", "HEAD"])
    async def image(name: str) -> Response:
        data = images.get(name)
        if data is None:
            raise HTTPException(status_code=404, detail="no such demo image")
        return Response(
            data, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
        )

    return r
