"""Digests: schedules and their next runs, whether a digest is held, run history, the
preview of the next run for a section choice (sandboxed, desktop and phone width), a test
copy to me, send now."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from publisher.console.kit import BASE, Operator, RowId, audit, back, form, render, require, run
from publisher.core.errors import PublisherError
from publisher.core.schedules import Digest, Schedules
from publisher.daemon.scheduler import next_fire_times, trigger_for
from publisher.daemon.status import describe
from publisher.digests import approval, holds, pipeline, testcopy
from publisher.digests.runs import run_archive, run_history
from publisher.intake.articles import list_sections
from publisher.web.context import WebContext, context_of

# The preview and archive frames: their HTML runs nothing and reaches nothing of ours.
FRAME_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src https: http: data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
}


def schedules_of(ctx: WebContext) -> Schedules:
    if ctx.schedules is None:
        raise HTTPException(404, "no schedules file")
    return ctx.schedules


def _digest(ctx: WebContext, digest_id: str) -> Digest:
    found = next((d for d in schedules_of(ctx).digests if d.id == digest_id), None)
    if found is None:
        raise HTTPException(404, "no such digest")
    return found


def _upcoming(ctx: WebContext, digest: Digest, now: datetime, n: int = 3) -> list[datetime]:
    return next_fire_times(trigger_for(digest, schedules_of(ctx).tz), now, n)


def _counts(counts: dict[str, int]) -> dict[str, int]:
    """A run's outbox rows: sent, failed (refused or expired), still waiting."""
    waiting = sum(v for k, v in counts.items() if k in ("queued", "sending", "deferred"))
    failed = counts.get("failed", 0) + counts.get("expired", 0)
    return {"sent": counts.get("sent", 0), "failed": failed, "waiting": waiting,
            "suppressed": counts.get("suppressed", 0)}  # fmt: skip


async def digests(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    ctx = context_of(request)
    now = ctx.now()
    rows = [(d, describe(d), _upcoming(ctx, d, now)) for d in schedules_of(ctx).digests]
    waiting = await run(approval.pending, ctx.engine, limit=50)
    return render(request, op, "digests", digests=rows, pending=waiting)


async def digest_page(
    request: Request, digest_id: str, op: Operator = Depends(require("viewer"))
) -> Response:
    ctx = context_of(request)
    d = _digest(ctx, digest_id)
    history = await run(run_history, ctx.engine, d.id, limit=30)
    held = await run(holds.holding_of, ctx.engine, d.id)
    chosen = [s for s in request.query_params.getlist("sections") if s][:50]
    return render(
        request, op, "digest", digest=d, timing=describe(d),
        upcoming=_upcoming(ctx, d, ctx.now()), sections=await run(list_sections, ctx.engine),
        chosen=chosen, runs=[(row, _counts(c)) for row, c in history],
        query="&".join(f"sections={s}" for s in chosen), held=held,
    )  # fmt: skip


async def preview(
    request: Request, digest_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    d = _digest(ctx, digest_id)
    chosen = [s for s in request.query_params.getlist("sections") if s][:50]
    try:
        pv = await run(
            pipeline.preview, ctx.engine, ctx.settings, schedules_of(ctx), d.id,
            now=ctx.now(), sections=chosen or None,
        )  # fmt: skip
    except PublisherError as exc:
        return HTMLResponse(f"<p>{_esc(str(exc))}</p>", 409, headers=FRAME_HEADERS)
    return HTMLResponse(pv.rendered.html, headers=FRAME_HEADERS)


async def archive(
    request: Request, digest_id: str, run_id: RowId, op: Operator = Depends(require("viewer"))
) -> Response:
    ctx = context_of(request)
    found = await run(run_archive, ctx.engine, digest_id, run_id)
    if found is None or not found[1]:
        raise HTTPException(404, "no archived issue for this run")
    return HTMLResponse(found[1], headers=FRAME_HEADERS)


async def send_test(
    request: Request, digest_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    d = _digest(ctx, digest_id)
    try:
        n = await ctx.write(testcopy.send_test, ctx.engine, ctx.settings, schedules_of(ctx),
                            d.id, to=op.email, now=ctx.now())  # fmt: skip
    except PublisherError as exc:
        return back(f"{BASE}/digests/{d.id}", str(exc))
    await audit(request, op.email, "digest.test", d.id, to=op.email, enqueued=n)
    return back(f"{BASE}/digests/{d.id}")


async def send_now(
    request: Request, digest_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    d = _digest(ctx, digest_id)
    await form(request)
    now = ctx.now()
    try:
        result = await ctx.write(pipeline.run_digest, ctx.engine, ctx.settings,
                                 schedules_of(ctx), d.id, now=now, manual=True)  # fmt: skip
    except PublisherError as exc:
        return back(f"{BASE}/digests/{d.id}", str(exc))
    await audit(request, op.email, "digest.send", d.id, status=result.status,
                run=result.run_id, enqueued=result.enqueued)  # fmt: skip
    return back(f"{BASE}/digests/{d.id}", f"{result.status}: {result.enqueued}")


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/digests", digests, methods=["GET"])
    r.add_api_route(BASE + "/digests/{digest_id}", digest_page, methods=["GET"])
    r.add_api_route(BASE + "/digests/{digest_id}/preview.html", preview, methods=["GET"])
    r.add_api_route(BASE + "/digests/{digest_id}/runs/{run_id}.html", archive, methods=["GET"])
    r.add_api_route(BASE + "/digests/{digest_id}/test", send_test, methods=["POST"])
    r.add_api_route(BASE + "/digests/{digest_id}/send", send_now, methods=["POST"])
    return r


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
