"""Articles: the recent ones with their sections, views and the runs that carried them;
retract and undo."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from publisher.console.kit import BASE, Operator, audit, back, render, require, run
from publisher.intake.articles import set_status
from publisher.staff import lookups
from publisher.web.context import context_of


async def articles(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    rows = await run(lookups.articles, context_of(request).engine, limit=100)
    return render(request, op, "articles", rows=rows)


async def _set(request: Request, op: Operator, external_id: str, published: bool) -> Response:
    ctx = context_of(request)
    status: Literal["published", "retracted"] = "published" if published else "retracted"
    found = await ctx.write(set_status, ctx.engine, external_id[:200], status, now=ctx.now())
    if not found:
        raise HTTPException(404, "no such article")
    await audit(request, op.email, f"article.{'restore' if published else 'retract'}",
                external_id)  # fmt: skip
    return back(f"{BASE}/articles")


async def retract(
    request: Request, external_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    return await _set(request, op, external_id, False)


async def restore(
    request: Request, external_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    return await _set(request, op, external_id, True)


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/articles", articles, methods=["GET"])
    r.add_api_route(BASE + "/articles/{external_id}/retract", retract, methods=["POST"])
    r.add_api_route(BASE + "/articles/{external_id}/restore", restore, methods=["POST"])
    return r
