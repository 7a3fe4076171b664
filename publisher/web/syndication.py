"""Syndication routes (issue 17): the IndexNow key file at ``/{key}.txt`` and the ninjs API.

The ninjs API is public, but the full text is the licence: without ``feed_full_text`` it
goes only to a request with an API key (the /api key check), everyone else gets summaries.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from publisher.core.config import Settings
from publisher.syndication import ninjs
from publisher.web.api import require_key
from publisher.web.context import context_of
from publisher.web.errors import ApiError, error_response

# The answer depends on the key: a shared cache must neither mix them nor keep a keyed one.
_HEADERS = {"Vary": "X-API-Key"}


def _full_text(settings: Settings, request: Request) -> bool:
    """Full text for everyone by setting, else only with a valid API key (a wrong or
    missing key is no error here: the public answer is the summary)."""
    if settings.feed_full_text:
        return True
    try:
        require_key(request, request.headers.get("X-API-Key"))
    except ApiError:
        return False
    return True


def _json(body: object, full_text: bool, settings: Settings) -> JSONResponse:
    headers = dict(_HEADERS)
    if full_text and not settings.feed_full_text:
        headers["Cache-Control"] = "private, no-store"
    return JSONResponse(body, media_type="application/json; charset=utf-8", headers=headers)


def router(settings: Settings) -> APIRouter:
    api = APIRouter()
    key = settings.indexnow_key

    if key:

        @api.get(f"/{key}.txt", include_in_schema=False)
        def indexnow_key() -> Response:
            return Response(key, media_type="text/plain; charset=utf-8")

    @api.get("/api/ninjs", tags=["syndication"], summary="Recent articles as a ninjs feed")
    async def ninjs_feed(
        request: Request, limit: int = Query(default=20, ge=1, le=100)
    ) -> JSONResponse:
        engine, full = context_of(request).engine, _full_text(settings, request)
        docs = await run_in_threadpool(ninjs.recent, settings, engine, limit=limit, full_text=full)
        return _json(docs, full, settings)

    @api.get("/api/ninjs/{article_id}", tags=["syndication"], summary="One article as ninjs")
    async def ninjs_item(request: Request, article_id: str) -> JSONResponse:
        engine, full = context_of(request).engine, _full_text(settings, request)
        doc = await run_in_threadpool(ninjs.document, settings, engine, article_id, full_text=full)
        if doc is None:
            return error_response(404, "not_found", f"no article {article_id!r}", "article_id")
        return _json(doc, full, settings)

    return api
