"""What every console page shares: the signed-in operator (``require``), rendering
(``render``), CSRF, the audit call (``audit``) and redirects (``back``).

A later page adds itself with::

    async def thing(request: Request, op: Operator = Depends(require("editor"))) -> Response:
        return render(request, op, "thing", rows=...)  # templates/console/thing.html.j2

    r.add_api_route(BASE + "/thing", thing, methods=["GET"])  # in the module's router()

``require(role)`` redirects a request without a session to the sign-in page, answers 403
to a role below ``role``, and refuses a POST whose ``csrf`` field does not match (403).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.console.strings import CONSOLE_STRINGS
from publisher.core.storable import INT4_MAX
from publisher.core.tokens import same_text
from publisher.core.vocab import ConsoleRole
from publisher.render.templates import WebPages
from publisher.staff import accounts
from publisher.staff import audit as audit_log
from publisher.web.bodies import read_form
from publisher.web.context import WebContext, context_of

T = TypeVar("T")
# A row id in a path: anything else (past an id column's 32 bits, negative) is a 422 (a 400
# page for a browser), never a lookup PostgreSQL refuses.
RowId = Annotated[int, Path(ge=1, le=INT4_MAX)]
COOKIE = "publisher_console"
LANG_COOKIE = "publisher_console_lang"
PRE_COOKIE = "publisher_console_pre"  # the sign-in form's CSRF (before any session)
BASE = "/admin"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # pygal's inline styles are in the SVG; no script but our own file runs.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; script-src 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'",
}


@dataclass(frozen=True, slots=True)
class Operator:
    """The signed-in operator of a request."""

    id: int
    email: str
    role: ConsoleRole
    csrf: str
    session: str  # the session's hash, to end it

    def can(self, role: ConsoleRole) -> bool:
        return accounts.rank(self.role) >= accounts.rank(role)


def secure_cookies(ctx: WebContext) -> bool:
    return ctx.settings.public_base_url.startswith("https://")


def set_cookie(ctx: WebContext, response: Response, name: str, value: str, **kw: Any) -> None:
    response.set_cookie(
        name, value, path=BASE, httponly=True, samesite="lax", secure=secure_cookies(ctx), **kw
    )


def language(request: Request) -> str:
    ctx = context_of(request)
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or ""
    return lang if lang in CONSOLE_STRINGS else ctx.settings.language


def pages(ctx: WebContext) -> WebPages:
    found = ctx.state.get("console-pages")
    if not isinstance(found, WebPages):
        s = ctx.settings
        found = ctx.state["console-pages"] = WebPages(
            templates_dir=s.templates_dir, strings=CONSOLE_STRINGS, folder="console",
            site_name=s.site_name, base=BASE, when=partial(when, tz=s.tz),
        )  # fmt: skip
    return found


def render(
    request: Request, op: Operator | None, name: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    """A console page: ``op`` (None on the sign-in pages) decides which actions show."""
    lang = language(request)
    values.setdefault("error", "")
    html = pages(context_of(request)).page(
        name, language=lang, op=op, path=request.url.path,
        done=request.query_params.get("done", ""), **values,
    )  # fmt: skip
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if request.query_params.get("lang") == lang:
        set_cookie(context_of(request), response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


def back(path: str, done: str = "done") -> RedirectResponse:
    """After a POST: see the page again (303), with a "done" note."""
    sep = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{sep}done={quote(done)}", status_code=303)


async def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """A store read off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


LIST_FIELDS = frozenset({"sections"})


async def form(request: Request) -> dict[str, Any]:
    """The form's fields (``sections`` as a list); parsed once per request. A NUL or a lone
    surrogate in any field, or a multipart body not in UTF-8, is a 400 (bodies.read_form)."""
    data = await read_form(request)
    out: dict[str, Any] = {}
    for key in data:
        values = [v for v in data.getlist(key) if isinstance(v, str)]
        out[key] = values if key in LIST_FIELDS else (values[0] if values else "")
    return out


def when(value: datetime | None, tz: tzinfo) -> str:
    """A time as the operator reads it: local, to the minute."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "-"


def _signin_location(request: Request) -> str:
    target = request.url.path if request.method == "GET" else BASE + "/"
    return f"{BASE}/signin?next={quote(target)}"


async def operator_of(request: Request) -> Operator | None:
    ctx = context_of(request)
    idle = timedelta(minutes=ctx.settings.console_idle_minutes)
    found = await ctx.write(
        accounts.session_for, ctx.engine, ctx.identity.secret, request.cookies.get(COOKIE),
        now=ctx.now(), idle=idle,
    )  # fmt: skip
    if found is None:
        return None
    u = found.user
    return Operator(u.id, u.email, u.role, found.csrf, found.id_hash)


def require(role: ConsoleRole) -> Callable[[Request], Awaitable[Operator]]:
    """The dependency of a console route: the operator, if signed in with at least ``role``."""

    async def dependency(request: Request) -> Operator:
        op = await operator_of(request)
        if op is None:
            raise HTTPException(303, "sign in first", {"Location": _signin_location(request)})
        if request.method == "POST":
            sent = (await form(request)).get("csrf", "")
            if not isinstance(sent, str) or not same_text(sent, op.csrf):
                raise HTTPException(403, "the form's CSRF token is missing or wrong")
        if not op.can(role):
            raise HTTPException(403, f"this needs the {role} role")
        return op

    return dependency


async def audit(request: Request, actor: str, action: str, target: str = "", **detail: Any) -> None:
    """One audit entry for a state change: who, what, when, from where (the real client IP)."""
    ctx = context_of(request)
    await ctx.write(
        audit_log.record, ctx.engine, at=ctx.now(), actor=actor, action=action,
        target=target, detail=detail, ip=ctx.client_address(request),
    )  # fmt: skip


def refused(request: Request, op: Operator | None, status: int, message: str) -> HTMLResponse:
    """A refused action as a console page (403, 404, 400, 409, 429): what and why."""
    return render(request, op, "refused", status=status, code=status, message=message)


async def refused_page(request: Request, status: int, message: str) -> Response:
    """The global error handler's answer under /admin to a browser (web/errors.py): the
    console's page, with its menu when the request had a session."""
    op = await operator_of(request) if COOKIE in request.cookies else None
    return refused(request, op, status, message)
