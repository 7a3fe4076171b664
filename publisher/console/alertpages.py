"""Breaking news (속보): an editor sees an article's alert email (sandboxed frame), how many
readers opted in and how many alerts are left today, then sends it, or a test copy to
themselves; the alerts page lists what went out (alerts/send.py does the work)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from publisher.alerts import send as alerts
from publisher.console.digestpages import FRAME_HEADERS
from publisher.console.kit import BASE, Operator, audit, back, refused, render, require, run
from publisher.core.errors import PublisherError
from publisher.web.context import context_of

MAX_ID = 200
RECENT = 300  # alerts looked through for this article's (100 days at 3 a day)


def _status(exc: PublisherError) -> int:
    """How a refused alert reads: unknown 404, over the day's cap 429, else a conflict."""
    if isinstance(exc, alerts.NoSuchArticle):
        return 404
    return 429 if isinstance(exc, alerts.OverCap) else 409


async def _preview(request: Request, external_id: str) -> alerts.AlertPreview:
    ctx = context_of(request)
    try:
        return await run(alerts.preview, ctx.engine, ctx.settings, external_id[:MAX_ID],
                         now=ctx.now())  # fmt: skip
    except (alerts.NoSuchArticle, alerts.NotSendable) as exc:
        raise HTTPException(_status(exc), str(exc)) from None


async def alert_page(
    request: Request, external_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    pv = await _preview(request, external_id)
    left = max(0, pv.per_day - pv.sent_today)
    # An alert is for news of the last hours: the recent history tells whether it went out.
    recent = await run(alerts.history, context_of(request).engine, limit=RECENT)
    sent = next((a for a in recent if a.article_id == pv.article.external_id
                 and a.status == "sent"), None)  # fmt: skip
    return render(request, op, "alert", pv=pv, a=pv.article, left=left, sent=sent)


async def alert_frame(
    request: Request, external_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    pv = await _preview(request, external_id)
    return HTMLResponse(pv.rendered.html, headers=FRAME_HEADERS)


async def send_alert(
    request: Request, external_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    try:
        sent = await ctx.write(alerts.send, ctx.engine, ctx.settings, external_id[:MAX_ID],
                               by=op.email, now=ctx.now())  # fmt: skip
    except (alerts.NoSuchArticle, alerts.NotSendable, alerts.AlreadySent,
            alerts.OverCap) as exc:  # fmt: skip
        return refused(request, op, _status(exc), str(exc))
    await audit(request, op.email, "alert.send", sent.article_id, alert=sent.alert_id,
                recipients=sent.recipients, slot=sent.slot)  # fmt: skip
    return back(f"{BASE}/alerts", f"{sent.subject}: {sent.enqueued}")


async def send_test(
    request: Request, external_id: str, op: Operator = Depends(require("editor"))
) -> Response:
    ctx = context_of(request)
    try:
        n = await ctx.write(alerts.send_test, ctx.engine, ctx.settings, external_id[:MAX_ID],
                            to=op.email, now=ctx.now())  # fmt: skip
    except (alerts.NoSuchArticle, alerts.NotSendable) as exc:
        return refused(request, op, _status(exc), str(exc))
    await audit(request, op.email, "alert.test", external_id[:MAX_ID], to=op.email, enqueued=n)
    return back(f"{BASE}/articles/{external_id[:MAX_ID]}/alert")


async def alert_history(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    ctx = context_of(request)
    rows = await run(alerts.history_with_counts, ctx.engine, limit=100)
    left = await run(alerts.remaining_today, ctx.engine, ctx.settings, now=ctx.now())
    return render(request, op, "alerts", rows=rows, left=left,
                  per_day=ctx.settings.alerts_per_day)  # fmt: skip


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/alerts", alert_history, methods=["GET"])
    r.add_api_route(BASE + "/articles/{external_id}/alert", alert_page, methods=["GET"])
    r.add_api_route(BASE + "/articles/{external_id}/alert", send_alert, methods=["POST"])
    r.add_api_route(BASE + "/articles/{external_id}/alert.html", alert_frame, methods=["GET"])
    r.add_api_route(BASE + "/articles/{external_id}/alert/test", send_test, methods=["POST"])
    return r
