"""Suppressions (list, search, add, remove with a reason) and the outbox (by status, kind,
domain; top deferral reasons; retry failed)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from publisher.console.kit import BASE, Operator, audit, back, form, render, require, run
from publisher.core.addresses import AddressError, canonical, normalise
from publisher.core.vocab import pick
from publisher.messages import outboxstatus
from publisher.messages.enqueue import KINDS, STATUSES, expiry_for
from publisher.readers.suppressions import suppress, unsuppress_one
from publisher.staff import lookups
from publisher.web.context import context_of

REASON_MAX = 200
LISTED_REASON_MAX = 32  # the suppression list's reason column


def _address(text: str) -> str:
    try:
        return canonical(normalise(text.strip()))
    except (AddressError, ValueError):
        raise HTTPException(400, "email: not a valid address") from None


async def suppressions(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    q = request.query_params.get("q", "")[:320]
    rows = await run(lookups.suppressions, context_of(request).engine, q)
    return render(request, op, "suppressions", q=q, rows=rows)


async def add(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    ctx = context_of(request)
    fields = await form(request)
    email = _address(str(fields.get("email", "")))
    reason = " ".join(str(fields.get("reason", "")).split())[:LISTED_REASON_MAX] or "manual"
    await ctx.write(suppress, ctx.engine, [email], reason=reason, now=ctx.now())
    await audit(request, op.email, "suppression.add", email, reason=reason)
    return back(f"{BASE}/suppressions")


async def remove(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    ctx = context_of(request)
    fields = await form(request)
    email = _address(str(fields.get("email", "")))
    reason = " ".join(str(fields.get("reason", "")).split())[:REASON_MAX]
    if not reason:
        raise HTTPException(400, "reason: say why the address may be mailed again")
    removed = await ctx.write(unsuppress_one, ctx.engine, email)
    await audit(request, op.email, "suppression.remove", email, reason=reason,
                removed=removed)  # fmt: skip
    return back(f"{BASE}/suppressions")


async def outbox(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    ctx = context_of(request)
    p = request.query_params
    status, kind = pick(p.get("status"), STATUSES), pick(p.get("kind"), KINDS)
    domain = p.get("domain", "")[:253]
    rows = await run(lookups.outbox_rows, ctx.engine, status=status, kind=kind,
                     domain=domain)  # fmt: skip
    glance = await run(lookups.outbox_glance, ctx.engine, now=ctx.now())
    return render(
        request, op, "outbox", rows=rows, glance=glance, chosen=status or "",
        kind=kind or "", domain=domain, statuses=STATUSES, kinds=KINDS,
    )  # fmt: skip


async def retry(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    ctx = context_of(request)
    fields = await form(request)
    kind = pick(str(fields.get("kind", "")), KINDS)
    now = ctx.now()
    expires: dict[str, datetime] = {k: now + expiry_for(ctx.settings, k) for k in KINDS}
    n = await ctx.write(outboxstatus.requeue_failed, ctx.engine, kind=kind, now=now,
                        expires_at=expires)  # fmt: skip
    await audit(request, op.email, "outbox.retry", kind or "all", requeued=n)
    return back(f"{BASE}/outbox", f"{n}")


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/suppressions", suppressions, methods=["GET"])
    r.add_api_route(BASE + "/suppressions", add, methods=["POST"])
    r.add_api_route(BASE + "/suppressions/remove", remove, methods=["POST"])
    r.add_api_route(BASE + "/outbox", outbox, methods=["GET"])
    r.add_api_route(BASE + "/outbox/retry", retry, methods=["POST"])
    return r
