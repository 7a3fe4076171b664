"""Operations endpoints.

- The public app keeps ``/healthz`` (load balancers probe the port they route to) and, in demo
  mode only, the ``/dev/mail`` viewer.
- The operations listener (``ops_host``:``ops_port``, loopback by default) serves ``/healthz``
  and ``/metrics``. Metrics name recipient domains and queue sizes: they never go on the
  public port.

``/healthz`` is 503 while any part is down, with one line per problem naming the reason.
"""

from __future__ import annotations

import asyncio
import html
import mailbox
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response

from publisher.core.metrics import Metrics
from publisher.daemon.health import database_answers
from publisher.store.types import Engine

# Each part the daemon runs in this role: name -> (ok, the reason when not ok).
Checks = Callable[[], dict[str, tuple[bool, str]]]


def health_router(*, engine: Engine, checks: Checks, maildir: Path | None = None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        db = await asyncio.to_thread(database_answers, engine)
        parts = checks()
        problems = [] if db else ["database: does not answer"]
        problems += [f"{name}: {reason}" for name, (ok, reason) in parts.items() if not ok]
        body: dict[str, object] = {"status": "unavailable" if problems else "ok", "database": db}
        body |= {name: ok for name, (ok, _reason) in parts.items()}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, status_code=503 if problems else 200)

    if maildir is not None:
        _mail_pages(router, maildir)
    return router


def ops_app(*, engine: Engine, metrics: Metrics, checks: Checks) -> FastAPI:
    """The operations listener's app: /healthz and /metrics, nothing else."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    app.include_router(health_router(engine=engine, checks=checks))

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        body, ctype = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=ctype)

    return app


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
