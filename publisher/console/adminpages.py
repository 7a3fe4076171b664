"""Admin only: the audit log (page and JSON Lines export) and the operators (invite,
remove)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from publisher.console.kit import BASE, Operator, audit, back, form, render, require, run
from publisher.core.errors import InputError
from publisher.core.storable import row_id
from publisher.staff import accounts
from publisher.staff import audit as audit_log
from publisher.web.context import context_of


async def audit_page(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    before_id = row_id(request.query_params.get("before", ""))  # anything else: the newest
    rows = await run(audit_log.recent, context_of(request).engine, limit=100, before_id=before_id)
    return render(request, op, "audit", rows=rows)


async def export(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    ctx = context_of(request)

    def lines() -> Iterator[str]:
        yield from audit_log.export_lines(ctx.engine)

    return StreamingResponse(
        lines(), media_type="application/jsonl; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


async def users(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    rows = await run(accounts.list_users, context_of(request).engine)
    return render(request, op, "users", rows=rows, roles=accounts.ROLES, link="")


async def invite(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    ctx = context_of(request)
    fields = await form(request)
    valid = timedelta(hours=ctx.settings.console_invite_hours)
    try:
        inv = await ctx.write(
            accounts.invite,
            ctx.engine,
            str(fields.get("email", "")),
            role=str(fields.get("role", "")),
            now=ctx.now(),
            valid=valid,
        )
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None  # fmt: skip
    await audit(request, op.email, "user.invite", inv.email, role=inv.role)
    rows = await run(accounts.list_users, ctx.engine)
    link = f"{ctx.settings.public_base_url.rstrip('/')}{BASE}/welcome/{inv.token}"
    return render(request, op, "users", rows=rows, roles=accounts.ROLES, link=link)


async def remove(request: Request, op: Operator = Depends(require("admin"))) -> Response:
    ctx = context_of(request)
    email = str((await form(request)).get("email", ""))
    try:
        removed = await ctx.write(accounts.remove, ctx.engine, email)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    await audit(request, op.email, "user.remove", email, removed=removed)
    return back(f"{BASE}/users")


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/audit", audit_page, methods=["GET"])
    r.add_api_route(BASE + "/audit.jsonl", export, methods=["GET"])
    r.add_api_route(BASE + "/users", users, methods=["GET"])
    r.add_api_route(BASE + "/users", invite, methods=["POST"])
    r.add_api_route(BASE + "/users/remove", remove, methods=["POST"])
    return r
