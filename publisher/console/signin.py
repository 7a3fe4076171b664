"""Sign-in, the invitation link (set a password), sign-out.

Sign-in answers the same for an unknown address and a wrong password, and is counted per
account and per client IP before the password is checked. The audit log names only what is
an address (canonical form) and records one refusal per limit and window, so a flood of
attempts neither grows the database nor buries the real entries. Every successful sign-in makes
a new session id: a cookie planted before it is never promoted (no session fixation).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from publisher.console.kit import (
    BASE,
    COOKIE,
    PRE_COOKIE,
    Operator,
    audit,
    form,
    render,
    require,
    set_cookie,
)
from publisher.core.errors import InputError
from publisher.core.tokens import same_text
from publisher.staff import accounts
from publisher.staff.accounts import Throttled, UserRow
from publisher.web.context import WebContext, context_of


def _next(value: str) -> str:
    """Only a console path of ours: never another site (open redirect)."""
    ok = value.startswith(BASE + "/") and not value.startswith("//") and "\\" not in value
    return value if ok else BASE + "/"


def _with_pre(request: Request, name: str, status: int = 200, **values: object) -> Response:
    """A page with a sign-in form: its CSRF token is a fresh random cookie (no session yet)."""
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, None, name, status=status, pre=token, **values)
    set_cookie(context_of(request), response, PRE_COOKIE, token)
    return response


async def _check_pre(request: Request) -> dict[str, object]:
    fields = await form(request)
    sent, kept = str(fields.get("csrf", "")), request.cookies.get(PRE_COOKIE, "")
    if not kept or not same_text(sent, kept):  # both from the client: any text
        raise HTTPException(403, "the form's CSRF token is missing or wrong")
    return fields


async def _start(ctx: WebContext, request: Request, user: UserRow, target: str) -> Response:
    cookie = await ctx.write(accounts.start_session, ctx.engine, ctx.identity.secret, user,
                             now=ctx.now())  # fmt: skip
    response = RedirectResponse(_next(target), status_code=303)
    set_cookie(ctx, response, COOKIE, cookie)
    response.delete_cookie(PRE_COOKIE, path=BASE)
    return response


async def signin_page(request: Request) -> Response:
    return _with_pre(request, "signin", next=_next(request.query_params.get("next", "")))


async def signin(request: Request) -> Response:
    ctx = context_of(request)
    fields = await _check_pre(request)
    email, password = str(fields.get("email", ""))[:320], str(fields.get("password", ""))
    target = _next(str(fields.get("next", "")))
    ip = ctx.client_ip(request)
    try:
        user = await ctx.write(accounts.sign_in, ctx.engine, ctx.settings, email, password,
                               ip=ip, now=ctx.now())  # fmt: skip
    except Throttled as refused:
        if refused.first:  # once per limit and window; the rest of a flood is not logged
            await audit(request, accounts.actor_of(email), "signin.throttled",
                        limit=refused.limit)  # fmt: skip
        return _with_pre(request, "signin", 429, error="signin_throttled", next=target)
    if user is None:
        await audit(request, accounts.actor_of(email), "signin.failed")
        return _with_pre(request, "signin", 401, error="signin_failed", next=target)
    await audit(request, user.email, "signin")
    return await _start(ctx, request, user, target)


async def welcome_page(request: Request, token: str) -> Response:
    ctx = context_of(request)
    user = accounts.invited(ctx.engine, token, now=ctx.now())
    if user is None:
        return render(request, None, "message", status=410, message="bad_link")
    return _with_pre(request, "welcome", email=user.email)


async def welcome(request: Request, token: str) -> Response:
    ctx = context_of(request)
    fields = await _check_pre(request)
    try:
        user = await ctx.write(accounts.set_password, ctx.engine, token,
                               str(fields.get("password", "")), now=ctx.now())  # fmt: skip
    except InputError as exc:
        if exc.field == "token":
            return render(request, None, "message", status=410, message="bad_link")
        return _with_pre(request, "welcome", 400, email="", error="password_short")
    await audit(request, user.email, "password.set")
    return await _start(ctx, request, user, BASE + "/")


async def signout(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    ctx = context_of(request)
    await ctx.write(accounts.end_session, ctx.engine, op.session)
    await audit(request, op.email, "signout")
    response = RedirectResponse(BASE + "/signin", status_code=303)
    response.delete_cookie(COOKIE, path=BASE)
    return response


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/signin", signin_page, methods=["GET"])
    r.add_api_route(BASE + "/signin", signin, methods=["POST"])
    r.add_api_route(BASE + "/welcome/{token}", welcome_page, methods=["GET"])
    r.add_api_route(BASE + "/welcome/{token}", welcome, methods=["POST"])
    r.add_api_route(BASE + "/signout", signout, methods=["POST"])
    return r
