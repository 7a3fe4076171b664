"""The CMS and operator API under /api (API key in X-API-Key): articles, subscribers, runs."""

from __future__ import annotations

import csv
import dataclasses
import hmac
import io
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from publisher.consent.record import act_of
from publisher.core.config import Settings
from publisher.core.errors import InputError
from publisher.core.models import Article
from publisher.core.vocab import pick
from publisher.digests import pipeline
from publisher.digests.feedback import run_feedback
from publisher.digests.holds import holding_of
from publisher.digests.runs import list_runs
from publisher.intake import articles as articles_uc
from publisher.intake.records import NotUtf8
from publisher.intake.validate import validate_article
from publisher.messages.outboxstatus import outbox_depth
from publisher.readers import subscribers
from publisher.web.bodies import is_csv_type, is_json_type, read_json, read_object
from publisher.web.context import WebContext, context_of
from publisher.web.errors import ApiError

MAX_BATCH = 1000
_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "body is not JSON (or not UTF-8 CSV)"},
    415: {"description": "POST /api/subscribers: neither application/json nor text/csv"},
    401: {"description": "missing or wrong API key"}, 422: {"description": "invalid input"},
}  # fmt: skip


def require_key(request: Request, key: str | None = Security(_KEY)) -> None:
    keys = context_of(request).settings.api_keys
    given = (key or "").encode()
    # Compare with every key, always: the time taken says nothing about which one matched.
    ok = [hmac.compare_digest(given, k.encode()) for k in keys if k]
    if not key or not any(ok):
        raise ApiError(401, "missing or wrong API key", field="X-API-Key",
                       headers={"WWW-Authenticate": "ApiKey"})  # fmt: skip


def article_json(a: Article) -> dict[str, Any]:
    return {
        "id": a.external_id, "url": a.url, "title": a.title, "summary": a.summary,
        "section": a.section, "section_name": a.section_name, "tags": list(a.tags),
        "image_url": a.image_url, "status": a.status, "author": a.author,
        "published_at": a.published_at.isoformat(), "updated_at": a.updated_at.isoformat(),
    }  # fmt: skip


def _validated(ctx: WebContext, obj: Any) -> Article:
    result = validate_article(obj, tz=ctx.settings.tz)
    if isinstance(result, list):
        first = result[0]
        raise ApiError(422, first.reason, field=first.field or None)
    return result


def _write(ctx: WebContext, batch: list[Article]) -> list[str]:
    outcomes = articles_uc.write_articles(ctx.engine, batch, now=ctx.now())
    return [str(o) for o in outcomes]


def _put_article(ctx: WebContext, article_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if "id" in body and str(body["id"]) != article_id:
        raise ApiError(422, "differs from the id in the path", field="id")
    article = _validated(ctx, {**body, "id": article_id})
    outcome = _write(ctx, [article])[0]
    if outcome not in ("added", "updated", "unchanged"):
        raise ApiError(422, outcome)
    return {"id": article_id, "outcome": outcome}


def _post_batch(ctx: WebContext, body: list[Any]) -> dict[str, Any]:
    if len(body) > MAX_BATCH:
        raise ApiError(413, f"at most {MAX_BATCH} articles per batch")
    results: list[dict[str, Any]] = [{} for _ in body]
    good: list[tuple[int, Article]] = []
    for i, obj in enumerate(body):
        found = validate_article(obj, tz=ctx.settings.tz)
        if isinstance(found, list):
            results[i] = {"index": i, "errors": [{"field": e.field, "message": e.reason}
                                                 for e in found]}  # fmt: skip
        else:
            good.append((i, found))
    for (i, a), outcome in zip(good, _write(ctx, [a for _, a in good]), strict=True):
        results[i] = {"index": i, "id": a.external_id, "outcome": outcome}
    return {"results": results}


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/api", dependencies=[Depends(require_key)], responses=_ERRORS)

    @r.put("/articles/{article_id}", tags=["articles"], openapi_extra=_json_body("object"))
    async def put_article(request: Request, article_id: str) -> dict[str, Any]:
        """Insert or update one article, validated exactly like `publisher articles import`."""
        body = await read_object(request)  # after require_key: strangers' bodies stay unread
        return await run_in_threadpool(_put_article, context_of(request), article_id, body)

    @r.post("/articles:batch", tags=["articles"], openapi_extra=_json_body("array"))
    async def post_batch(request: Request) -> dict[str, Any]:
        """Up to 1000 articles; each is accepted or rejected on its own."""
        body = await read_json(request)
        if not isinstance(body, list):
            raise ApiError(422, "body must be a JSON array")
        return await run_in_threadpool(_post_batch, context_of(request), body)

    @r.delete("/articles/{article_id}", tags=["articles"])
    def retract(request: Request, article_id: str) -> dict[str, Any]:
        """Retract: the article leaves feeds, digests, most viewed and the share form."""
        ctx = context_of(request)
        found = articles_uc.set_status(ctx.engine, article_id, "retracted", now=ctx.now())
        if not found:
            raise ApiError(404, f"no article {article_id!r}", field="id")
        return {"id": article_id, "status": "retracted"}

    @r.get("/articles", tags=["articles"])
    def list_articles(
        request: Request, section: str | None = Query(None, max_length=64),
        since: datetime | None = None, limit: int = Query(50, ge=1, le=500),
    ) -> dict[str, Any]:  # fmt: skip
        """Published articles, newest first; `since` filters on the update time."""
        ctx = context_of(request)
        # Year 1 or 9999 overflows once moved to UTC (an OverflowError, a 500 on both stores).
        if since is not None and not 1900 <= since.year <= 2100:
            raise ApiError(422, "the year must be 1900-2100", field="since")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=ctx.settings.tz)
        found = articles_uc.latest_articles(ctx.engine, limit=limit, section=section, since=since)
        return {"articles": [article_json(a) for a in found]}

    @r.get("/subscribers", tags=["subscribers"], response_model=None)
    def list_subscribers(
        request: Request,
        status: str | None = Query(None, pattern="^(pending|confirmed|unsubscribed)$"),
        limit: int = Query(1000, ge=1, le=100_000),
        format: str = Query("json", pattern="^(json|csv)$"),
    ) -> Response | dict[str, Any]:
        """All subscribers as JSON, or `format=csv` in the import format."""
        ctx = context_of(request)
        if format == "csv":
            out = io.StringIO()
            subscribers.export(ctx.engine, out)
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
        # The pattern above has checked it: pick only tells mypy which word it is.
        chosen = pick(status, subscribers.ALL_STATUSES)
        rows = subscribers.listing(ctx.engine, status=chosen, limit=limit)
        return {"subscribers": [
            {"id": s.id, "email": s.email, "name": s.name, "status": s.status,
             "frequency": s.frequency, "sections": list(s.sections), "alerts": s.alerts}
            for s in rows
        ]}  # fmt: skip

    @r.post("/subscribers", tags=["subscribers"])
    async def add_subscribers(request: Request) -> JSONResponse:
        """A JSON object adds one; a `text/csv` body imports many (columns as the CLI's)."""
        ctx = context_of(request)
        content_type = request.headers.get("content-type")
        if is_csv_type(content_type):
            return JSONResponse(await _import_csv(ctx, await request.body()))
        if not is_json_type(content_type):
            raise ApiError(415, "send a JSON object as application/json, or CSV as text/csv")
        obj = await read_object(request)
        try:
            outcome = subscribers.add(
                ctx.engine, obj, now=ctx.now(), act=act_of(ctx.settings, "api")
            )
        except InputError as exc:
            raise ApiError(422, exc.reason, field=exc.field) from None
        return JSONResponse({"outcome": outcome})

    @r.get("/outbox/stats", tags=["operators"])
    def outbox_stats(request: Request) -> dict[str, Any]:
        """Outbox rows per status."""
        counts = outbox_depth(context_of(request).engine)
        return {"counts": counts, "total": sum(counts.values())}

    @r.get("/digests/{digest_id}/runs", tags=["operators"])
    def runs(request: Request, digest_id: str, limit: int = Query(50, ge=1, le=500)) -> Any:
        """The digest's runs, newest first."""
        ctx = context_of(request)
        _digest(ctx, digest_id)
        found = list_runs(ctx.engine, digest_id, limit=limit)
        back = run_feedback(ctx.engine, found)  # bounces, complaints, complaint rate
        held = holding_of(ctx.engine, digest_id)
        return {
            "runs": [_jsonable({**dataclasses.asdict(x), **back[x.id].as_dict()}) for x in found],
            "held": None if held is None else _jsonable(dataclasses.asdict(held)),
        }

    @r.post("/digests/{digest_id}/run", tags=["operators"])
    def run(request: Request, digest_id: str) -> Any:
        """Perform the run due now (once per window; a second call answers `already`)."""
        ctx = context_of(request)
        sched = _digest(ctx, digest_id)
        result = pipeline.run_digest(ctx.engine, ctx.settings, sched, digest_id, now=ctx.now())
        return _jsonable(dataclasses.asdict(result))

    return r


def _digest(ctx: WebContext, digest_id: str) -> Any:
    sched = ctx.schedules
    if sched is None or all(d.id != digest_id for d in sched.digests):
        raise ApiError(404, f"no digest {digest_id!r} in the schedules", field="digest_id")
    return sched


def _json_body(kind: str) -> dict[str, Any]:
    """The request body in the OpenAPI schema (the handlers read it themselves)."""
    schema = {"type": kind}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _check_csv(raw: bytes) -> None:
    """Parse the whole CSV once before importing any of it: a malformed file (a cell over the
    csv module's 128 KiB field limit, say) is refused whole rather than half imported."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return  # import_file names the line and byte; nothing is written before that check
    # strict: an unterminated quote is an error, not a field that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        message = f"CSV body line {reader.line_num}: {exc}; nothing was imported"
        raise ApiError(400, message) from None


async def _import_csv(ctx: WebContext, raw: bytes) -> dict[str, Any]:
    _check_csv(raw)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.csv"
        path.write_bytes(raw)
        try:
            report = await ctx.write(subscribers.import_file, ctx.engine, path, now=ctx.now(),
                                     act=act_of(ctx.settings, "import"))  # fmt: skip
        except NotUtf8 as exc:
            raise ApiError(400, f"CSV body {exc}; nothing was imported") from None
    return {"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
            "errors": [{"line": e.line, "field": e.field, "message": e.reason}
                       for e in report.errors]}  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
