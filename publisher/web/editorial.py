"""The editorial API (issue 15): digest runs awaiting approval, and breaking-news alerts.

Keyed like the rest of /api (web/api.py's ``require_key``). Handlers call the use cases in
``digests/approval.py`` and ``alerts/``; errors come back in the API's one shape.
"""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from publisher.alerts import send as alerts
from publisher.alerts.send import AlertRow
from publisher.core.errors import InputError
from publisher.core.storable import INT4_MAX, unstorable
from publisher.core.vocab import RunStatus, pick
from publisher.digests import approval
from publisher.digests.runs import RunRow
from publisher.web.bodies import read_json, read_object
from publisher.web.context import WebContext, context_of
from publisher.web.errors import ApiError

_RUN_ID = Path(ge=1, le=INT4_MAX, description="a digest run's id")
STATES: tuple[RunStatus, ...] = get_args(RunStatus)
# The held run's HTML is shown, never run: no script, no form, no plugin, no navigation.
PREVIEW_CSP = "sandbox; default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'"


def run_json(run: RunRow | AlertRow) -> dict[str, Any]:
    out = dataclasses.asdict(run)
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in out.items()}


def decision_json(d: approval.Decision) -> dict[str, Any]:
    return {"run_id": d.run_id, "digest_id": d.digest_id, "status": d.status, "by": d.by,
            "at": d.at.isoformat(), "enqueued": d.enqueued, "recipients": d.recipients}  # fmt: skip


def _errors(exc: Exception) -> ApiError:
    if isinstance(exc, approval.NoSuchRun):
        return ApiError(404, str(exc), field="run_id")
    if isinstance(exc, approval.NotWaiting):
        return ApiError(409, str(exc), field="run_id")
    if isinstance(exc, InputError):
        return ApiError(422, exc.reason, field=exc.field)
    raise exc


async def _by(request: Request) -> str:
    """Who decides: the optional body {"by": "name"}; else "api"."""
    if not (await request.body()).strip():
        return "api"
    body = await read_json(request)
    by = body.get("by") if isinstance(body, dict) else None
    if by is None:
        return "api"
    if not isinstance(by, str) or not by.strip() or len(by) > approval.MAX_NAME or unstorable(by):
        raise ApiError(422, f"a name of 1 to {approval.MAX_NAME} characters", field="by")
    return f"api:{by.strip()}"


def approval_routes(r: APIRouter) -> None:
    @r.get("/runs", tags=["approval"])
    def runs(
        request: Request, state: str = Query("awaiting_approval"),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:  # fmt: skip
        """Digest runs of every digest in one state (default: awaiting approval)."""
        chosen = pick(state, STATES)
        if chosen is None:
            raise ApiError(422, f"one of {', '.join(STATES)}", field="state")
        found = approval.runs_in_state(context_of(request).engine, chosen, limit=limit)
        return {"runs": [run_json(x) for x in found]}

    @r.get("/runs/{run_id}", tags=["approval"])
    def one_run(request: Request, run_id: int = _RUN_ID) -> dict[str, Any]:
        """One run, its stored variants and how many readers an approval now would reach."""
        ctx = context_of(request)
        try:
            pv = approval.preview(ctx.engine, _schedules(ctx), run_id)
        except Exception as exc:
            raise _errors(exc) from None
        return {**run_json(pv.run), "variants": list(pv.variants),
                "recipients_now": pv.recipients_now}  # fmt: skip

    @r.get("/runs/{run_id}/preview", tags=["approval"], response_class=HTMLResponse)
    def preview(
        request: Request, run_id: int = _RUN_ID,
        variant: str | None = Query(None, max_length=64),
    ) -> HTMLResponse:  # fmt: skip
        """The run's HTML as readers would see it: a variant (`variant=KEY`, personal links as
        placeholders) or the whole issue. Sandboxed by its Content-Security-Policy."""
        ctx = context_of(request)
        try:
            pv = approval.preview(ctx.engine, _schedules(ctx), run_id, variant=variant)
        except Exception as exc:
            raise _errors(exc) from None
        headers = {"Content-Security-Policy": PREVIEW_CSP, "X-Recipients": str(pv.recipients_now),
                   "Cache-Control": "no-store"}  # fmt: skip
        return HTMLResponse(pv.html, headers=headers)

    @r.post("/runs/{run_id}/approve", tags=["approval"])
    async def approve(request: Request, run_id: int = _RUN_ID) -> dict[str, Any]:
        """Queue a run awaiting approval, now; body optional: {"by": "editor name"}."""
        ctx = context_of(request)
        by = await _by(request)
        try:
            d = await ctx.write(approval.approve, ctx.engine, ctx.settings, _schedules(ctx),
                                run_id, by=by, now=ctx.now())  # fmt: skip
        except Exception as exc:
            raise _errors(exc) from None
        return decision_json(d)

    @r.post("/runs/{run_id}/reject", tags=["approval"])
    async def reject(request: Request, run_id: int = _RUN_ID) -> dict[str, Any]:
        """Hold a run awaiting approval for good; body optional: {"by": "editor name"}."""
        ctx = context_of(request)
        by = await _by(request)
        try:
            d = await ctx.write(approval.reject, ctx.engine, run_id, by=by, now=ctx.now())
        except Exception as exc:
            raise _errors(exc) from None
        return decision_json(d)


def alert_routes(r: APIRouter) -> None:
    @r.post("/alerts", tags=["alerts"], openapi_extra=_object_body())
    async def send_alert(request: Request) -> JSONResponse:
        """Send an article's breaking-news alert now: {"article_id": "…", "by": "…"}."""
        ctx = context_of(request)
        body = await read_object(request)
        article_id = body.get("article_id")
        # A NUL or a lone surrogate is no id, nor a name, and the store refuses it as a
        # parameter (a 500): PostgreSQL a NUL, both a text with no UTF-8 form.
        if not isinstance(article_id, str) or not 0 < len(article_id) <= 200:
            raise ApiError(422, "the id of an article (1 to 200 characters)", field="article_id")
        if (why := unstorable(article_id)) is not None:
            raise ApiError(422, why, field="article_id")
        by = body.get("by", "")
        if not isinstance(by, str) or len(by) > approval.MAX_NAME or unstorable(by):
            raise ApiError(422, f"a name of at most {approval.MAX_NAME} characters", field="by")
        who = f"api:{by.strip()}" if by.strip() else "api"
        try:
            sent = await ctx.write(alerts.send, ctx.engine, ctx.settings, article_id, by=who,
                                   now=ctx.now())  # fmt: skip
        except (alerts.NoSuchArticle, alerts.NotSendable, alerts.AlreadySent,
                alerts.OverCap) as exc:  # fmt: skip
            raise ApiError(_ALERT_STATUS[type(exc)], str(exc), field="article_id") from None
        return JSONResponse(dataclasses.asdict(sent), status_code=201)

    @r.get("/alerts", tags=["alerts"])
    def alert_history(request: Request, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        """Alerts, newest first (sent, and those the daily cap refused: `over_cap`)."""
        ctx = context_of(request)
        rows = alerts.history_with_counts(ctx.engine, limit=limit)
        left = alerts.remaining_today(ctx.engine, ctx.settings, now=ctx.now())
        return {"remaining_today": left, "alerts": [
            {**run_json(a), "outbox": counts, "clicks": clicks} for a, counts, clicks in rows
        ]}  # fmt: skip


_ALERT_STATUS: dict[type[Exception], int] = {
    alerts.NoSuchArticle: 404, alerts.NotSendable: 409, alerts.AlreadySent: 409,
    alerts.OverCap: 429,
}  # fmt: skip


def _object_body() -> dict[str, Any]:
    schema = {"type": "object"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _schedules(ctx: WebContext) -> Any:
    sched = ctx.schedules
    if sched is None:
        raise ApiError(409, "the schedules file cannot be read", field="schedules_file")
    return sched


def router(_settings: Any) -> APIRouter:
    from publisher.web.api import require_key

    r = APIRouter(prefix="/api", dependencies=[Depends(require_key)])
    approval_routes(r)
    alert_routes(r)
    return r
