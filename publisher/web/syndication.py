"""Syndication routes (issue 17): the IndexNow key file at ``/{key}.txt`` and the ninjs API."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from publisher.core.config import Settings
from publisher.syndication import ninjs
from publisher.web.context import context_of
from publisher.web.errors import error_response


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
        engine = context_of(request).engine
        docs = await run_in_threadpool(ninjs.recent, settings, engine, limit=limit)
        return JSONResponse(docs, media_type="application/json; charset=utf-8")

    @api.get("/api/ninjs/{article_id}", tags=["syndication"], summary="One article as ninjs")
    async def ninjs_item(request: Request, article_id: str) -> JSONResponse:
        engine = context_of(request).engine
        doc = await run_in_threadpool(ninjs.document, settings, engine, article_id)
        if doc is None:
            return error_response(404, "not_found", f"no article {article_id!r}", "article_id")
        return JSONResponse(doc, media_type="application/json; charset=utf-8")

    return api
