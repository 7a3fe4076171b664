"""Subscribers: search by address prefix or name, a reader's page with every message we sent
them; admins change choices, unsubscribe, resend a confirmation, delete (confirmed twice)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from publisher.consent.history import history as consent_history
from publisher.consent.record import Act, act_of
from publisher.console.kit import BASE, Operator, RowId, audit, back, form, render, require, run
from publisher.intake.articles import list_sections
from publisher.readers import signup
from publisher.readers.subscribers import ask_to_confirm
from publisher.staff import lookups
from publisher.web.context import WebContext, context_of


def _digest_of(dedupe_key: str) -> str:
    """'digest:daily:12:…' → 'daily #12' (what run a message belongs to)."""
    parts = dedupe_key.split(":")
    return f"{parts[1]} #{parts[2]}" if parts[0] == "digest" and len(parts) > 3 else ""


async def search(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    ctx = context_of(request)
    q = request.query_params.get("q", "")[:320]
    found = await run(lookups.find, ctx.engine, q) if q.strip() else []
    return render(request, op, "subscribers", q=q, found=found)


async def _reader(request: Request, sid: RowId) -> lookups.Reader:
    found = await run(lookups.reader, context_of(request).engine, sid)
    if found is None:
        raise HTTPException(404, "no such subscriber")
    return found


async def reader(
    request: Request, sid: RowId, op: Operator = Depends(require("viewer"))
) -> Response:
    ctx = context_of(request)
    who = await _reader(request, sid)
    consent = await run(consent_history, ctx.engine, ctx.identity.secret, who.subscriber.email)
    return render(
        request, op, "subscriber", who=who.subscriber, messages=who.messages,
        digest_of=_digest_of, sections=await run(list_sections, ctx.engine),
        frequencies=ctx.frequencies(),
        consent=[{**e, "at": datetime.fromisoformat(e["at"])} for e in reversed(consent)],
    )  # fmt: skip


async def choice(
    request: Request, sid: RowId, op: Operator = Depends(require("admin"))
) -> Response:
    ctx = context_of(request)
    who = (await _reader(request, sid)).subscriber
    fields = await form(request)
    sections = [s for s in fields.get("sections", []) if s][:100]
    frequency = str(fields.get("frequency", who.frequency))
    if frequency not in ctx.frequencies():
        raise HTTPException(400, "frequency: not one of the schedules' frequencies")
    # Only the site's sections, as the reader's own form: a made-up slug is stored as a
    # choice (and one past its 64 characters is refused by PostgreSQL, a 500).
    known = {s.slug for s in await run(list_sections, ctx.engine)}
    if any(s not in known for s in sections):
        raise HTTPException(400, "sections: not one of the site's sections")
    await ctx.write(signup.update_choice, ctx.engine, sid, sections=sections,
                    frequency=frequency, now=ctx.now(), act=_act(ctx))  # fmt: skip
    await audit(request, op.email, "subscriber.choice", who.email,
                sections=sections, frequency=frequency)  # fmt: skip
    return back(f"{BASE}/subscribers/{sid}")


async def alert_choice(
    request: Request, sid: RowId, op: Operator = Depends(require("admin"))
) -> Response:
    """The breaking-news alert choice alone; the consent log records it (channel console)."""
    ctx = context_of(request)
    who = (await _reader(request, sid)).subscriber
    wanted = (await form(request)).get("alerts", "")
    if wanted not in ("on", "off"):
        raise HTTPException(400, "alerts: on or off")
    await ctx.write(signup.update_choice, ctx.engine, sid, sections=list(who.sections),
                    frequency=who.frequency, now=ctx.now(), act=_act(ctx),
                    alerts=wanted == "on")  # fmt: skip
    await audit(request, op.email, "subscriber.alerts", who.email, alerts=wanted == "on")
    return back(f"{BASE}/subscribers/{sid}")


async def unsubscribe(
    request: Request, sid: RowId, op: Operator = Depends(require("admin"))
) -> Response:
    ctx = context_of(request)
    who = (await _reader(request, sid)).subscriber
    await ctx.write(signup.unsubscribe_id, ctx.engine, sid, now=ctx.now(), act=_act(ctx))
    await audit(request, op.email, "subscriber.unsubscribe", who.email)
    return back(f"{BASE}/subscribers/{sid}")


async def resend(
    request: Request, sid: RowId, op: Operator = Depends(require("admin"))
) -> Response:
    ctx = context_of(request)
    who = (await _reader(request, sid)).subscriber
    asked = await ctx.write(ask_to_confirm, ctx.engine, ctx.settings, [who.email],
                            now=ctx.now())  # fmt: skip
    await audit(request, op.email, "subscriber.confirm", who.email,
                asked=asked.asked, already=asked.already, capped=asked.capped)  # fmt: skip
    return back(f"{BASE}/subscribers/{sid}", f"asked {asked.asked}, already {asked.already}, "
                f"capped {asked.capped}")  # fmt: skip


async def delete_page(
    request: Request, sid: RowId, op: Operator = Depends(require("admin"))
) -> Response:
    who = (await _reader(request, sid)).subscriber
    return render(request, op, "delete", who=who)


async def delete(
    request: Request, sid: RowId, op: Operator = Depends(require("admin"))
) -> Response:
    ctx = context_of(request)
    who = (await _reader(request, sid)).subscriber
    fields = await form(request)
    if fields.get("confirm") != who.email:
        return render(request, op, "delete", status=400, who=who, error=True)
    await ctx.write(signup.delete, ctx.engine, sid, now=ctx.now(), act=_act(ctx))
    await audit(request, op.email, "subscriber.delete", who.email)
    return back(f"{BASE}/subscribers")


def _act(ctx: WebContext) -> Act:
    """The consent log's "who and how" for an operator's change: the console channel."""
    return act_of(ctx.settings, "console")


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/subscribers", search, methods=["GET"])
    r.add_api_route(BASE + "/subscribers/{sid}", reader, methods=["GET"])
    r.add_api_route(BASE + "/subscribers/{sid}/choice", choice, methods=["POST"])
    r.add_api_route(BASE + "/subscribers/{sid}/alerts", alert_choice, methods=["POST"])
    r.add_api_route(BASE + "/subscribers/{sid}/unsubscribe", unsubscribe, methods=["POST"])
    r.add_api_route(BASE + "/subscribers/{sid}/confirm", resend, methods=["POST"])
    r.add_api_route(BASE + "/subscribers/{sid}/delete", delete_page, methods=["GET"])
    r.add_api_route(BASE + "/subscribers/{sid}/delete", delete, methods=["POST"])
    return r
