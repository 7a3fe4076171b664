"""Operations endpoints: /healthz, /metrics, and the demo-only /dev/mail viewer."""

from __future__ import annotations

import asyncio
import html
import mailbox
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response

from publisher.metrics import Metrics
from publisher.store.health import ping
from publisher.store.types import Engine


def ops_router(
    *,
    engine: Engine,
    metrics: Metrics,
    scheduler_ok: Callable[[], bool],
    maildir: Path | None = None,
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        db = await asyncio.to_thread(ping, engine)
        sched = scheduler_ok()
        ok = db and sched
        body = {"status": "ok" if ok else "unavailable", "database": db, "scheduler": sched}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/metrics")
    async def metrics_endpoint() -> Response:
        body, ctype = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=ctype)

    if maildir is not None:
        _mail_pages(router, maildir)
    return router


def _mail_pages(router: APIRouter, maildir: Path) -> None:
    def messages() -> list[tuple[str, EmailMessage]]:
        if not (maildir / "new").exists() and not (maildir / "cur").exists():
            return []
        box = mailbox.Maildir(maildir, factory=None, create=False)
        out: list[tuple[str, EmailMessage]] = []
        for key in box.iterkeys():
            parsed = BytesParser(policy=policy.default).parsebytes(box.get_bytes(key))
            if isinstance(parsed, EmailMessage):
                out.append((key, parsed))
        out.sort(key=lambda kv: str(kv[1].get("Date", "")), reverse=True)
        return out

    @router.get("/dev/mail", response_class=HTMLResponse)
    async def mail_index() -> str:
        items = await asyncio.to_thread(messages)
        rows = "".join(
            f"<tr><td>{_h(m, 'Date')}</td><td>{_h(m, 'To')}</td>"
            f'<td><a href="/dev/mail/{html.escape(key)}">{_h(m, "Subject")}</a></td></tr>'
            for key, m in items[:200]
        )
        return (
            '<!doctype html><html lang="ko"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>Demo mailbox</title><body style="font-family:sans-serif;margin:2em">'
            f"<h1>Demo mailbox ({len(items)} messages)</h1>"
            "<table cellpadding=6><tr><th>Date</th><th>To</th><th>Subject</th></tr>"
            f"{rows}</table></body></html>"
        )

    @router.get("/dev/mail/{key}", response_class=HTMLResponse)
    async def mail_one(key: str) -> str:
        found = {k: m for k, m in await asyncio.to_thread(messages)}
        msg = found.get(key)
        if msg is None:
            raise HTTPException(404, "no such message")
        part = msg.get_body(preferencelist=("html", "plain"))
        if part is None:
            raise HTTPException(404, "message has no body")
        content = part.get_content()
        if part.get_content_type() == "text/plain":
            return f"<pre>{html.escape(content)}</pre>"
        return str(content)


def _h(msg: EmailMessage, header: str) -> str:
    return html.escape(str(msg.get(header, "")))
