"""Approval of held digest runs: the run an editor reviews (its email in a sandboxed frame at
desktop and phone width, who would get it now, its deadline and what happens then), and
Approve / Reject (editor; digests/approval.py decides, one conditional update)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from publisher.console.digestpages import FRAME_HEADERS, schedules_of
from publisher.console.kit import BASE, Operator, RowId, audit, back, refused, render, require, run
from publisher.digests import approval
from publisher.web.context import context_of

MAX_VARIANT = 200


def _variant(request: Request) -> str | None:
    return request.query_params.get("variant", "")[:MAX_VARIANT] or None


async def _preview(request: Request, run_id: int, variant: str | None) -> approval.HeldPreview:
    ctx = context_of(request)
    try:
        return await run(approval.preview, ctx.engine, schedules_of(ctx), run_id, variant=variant)
    except approval.NoSuchRun as exc:
        raise HTTPException(404, str(exc)) from None


async def run_page(
    request: Request, run_id: RowId, op: Operator = Depends(require("viewer"))
) -> Response:
    variant = _variant(request)
    held = await _preview(request, run_id, variant)
    return render(
        request, op, "run", held=held, r=held.run, variant=variant or "",
        query=f"variant={variant}" if variant else "",
    )  # fmt: skip


async def run_frame(
    request: Request, run_id: RowId, op: Operator = Depends(require("editor"))
) -> Response:
    held = await _preview(request, run_id, _variant(request))
    return HTMLResponse(held.html or "<p>-</p>", headers=FRAME_HEADERS)


async def approve(
    request: Request, run_id: RowId, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    try:
        done = await ctx.write(
            approval.approve, ctx.engine, ctx.settings, schedules_of(ctx), run_id,
            by=op.email, now=ctx.now(),
        )  # fmt: skip
    except approval.NoSuchRun as exc:
        return refused(request, op, 404, str(exc))
    except approval.NotWaiting as exc:
        return refused(request, op, 409, str(exc))
    await audit(request, op.email, "run.approve", f"{done.digest_id}#{done.run_id}",
                enqueued=done.enqueued, recipients=done.recipients)  # fmt: skip
    return back(f"{BASE}/digests/{done.digest_id}", f"approved: {done.enqueued}")


async def reject(
    request: Request, run_id: RowId, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    try:
        done = await ctx.write(approval.reject, ctx.engine, run_id, by=op.email, now=ctx.now())
    except approval.NoSuchRun as exc:
        return refused(request, op, 404, str(exc))
    except approval.NotWaiting as exc:
        return refused(request, op, 409, str(exc))
    await audit(request, op.email, "run.reject", f"{done.digest_id}#{done.run_id}")
    return back(f"{BASE}/digests/{done.digest_id}", "rejected")


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/runs/{run_id}", run_page, methods=["GET"])
    r.add_api_route(BASE + "/runs/{run_id}/preview.html", run_frame, methods=["GET"])
    r.add_api_route(BASE + "/runs/{run_id}/approve", approve, methods=["POST"])
    r.add_api_route(BASE + "/runs/{run_id}/reject", reject, methods=["POST"])
    return r
