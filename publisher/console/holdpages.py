"""Hold and resume a digest from the console (editors): its runs are skipped, and say so,
until it is resumed. The same holds as `publisher digest hold|resume` and the complaint
circuit breaker's (digests/holds.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from publisher.console.digestpages import schedules_of
from publisher.console.kit import BASE, Operator, audit, back, form, require
from publisher.digests import holds
from publisher.web.context import context_of

REASON_MAX = 300


def _known(request: Request, digest_id: str) -> str:
    """The digest's id when schedules.yaml has it (404 otherwise)."""
    if digest_id not in {d.id for d in schedules_of(context_of(request)).digests}:
        raise HTTPException(404, "no such digest")
    return digest_id


async def hold(request: Request, digest_id: str, op: Operator = Depends(require("editor"))
               ) -> Response:  # fmt: skip
    ctx = context_of(request)
    did = _known(request, digest_id)
    fields = await form(request)
    reason = " ".join(str(fields.get("reason", "")).split())[:REASON_MAX] or "held in the console"
    done = await ctx.write(holds.hold, ctx.engine, did, reason=reason, by=f"console {op.email}",
                           now=ctx.now())  # fmt: skip
    if done:
        await audit(request, op.email, "digest.hold", did, reason=reason)
    return back(f"{BASE}/digests/{did}", "held" if done else "already held")


async def resume(request: Request, digest_id: str, op: Operator = Depends(require("editor"))
                 ) -> Response:  # fmt: skip
    ctx = context_of(request)
    did = _known(request, digest_id)
    await form(request)
    lifted = await ctx.write(holds.resume, ctx.engine, did)
    if lifted is not None:
        await audit(request, op.email, "digest.resume", did, was=lifted.reason)
    return back(f"{BASE}/digests/{did}", "resumed" if lifted else "not held")


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/digests/{digest_id}/hold", hold, methods=["POST"])
    r.add_api_route(BASE + "/digests/{digest_id}/resume", resume, methods=["POST"])
    return r
