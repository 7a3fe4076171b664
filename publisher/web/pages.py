"""Reader pages: subscribe, confirm, unsubscribe (RFC 8058 one-click), preferences, archive.

A GET never changes anything (link scanners follow GETs); every change is a POST.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.background import BackgroundTask

from publisher.core import tokens
from publisher.core.config import Settings
from publisher.core.storable import INT4_MAX
from publisher.digests.runs import run_archive
from publisher.intake.articles import list_sections
from publisher.readers import formcheck, signup
from publisher.readers.sharing import hash_ip
from publisher.web.bodies import read_form
from publisher.web.consentpages import web_act
from publisher.web.context import WebContext, context_of

log = logging.getLogger("publisher.web")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def page(
    ctx: WebContext, request: Request, name: str, *, status: int = 200,
    lang: str | None = None, **values: Any,
) -> HTMLResponse:  # fmt: skip
    language = lang or ctx.language(request)
    html = ctx.pages.page(name, language=language, **values)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def message(
    ctx: WebContext, request: Request, title: str, body: str, *, status: int = 200,
    lang: str | None = None,
) -> HTMLResponse:  # fmt: skip
    """A page of a title and a sentence: the same bytes every time, so rendered once."""
    language = lang or ctx.language(request)
    cache: dict[tuple[str, str, str], str] = ctx.state.setdefault("messages", {})
    key = (language, title, body)
    html = cache.get(key)
    if html is None:
        html = cache[key] = ctx.pages.page(
            "message", language=language, title_key=title, body_key=body
        )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def bad_link(ctx: WebContext, request: Request, lang: str | None = None) -> HTMLResponse:
    return message(ctx, request, "bad_link_title", "bad_link", status=400, lang=lang)


async def form_of(request: Request) -> dict[str, Any]:
    """Fields of an urlencoded or multipart body: lists for repeated names, strings else.

    The body is read whole first, whatever its Content-Type says: a chunked body over the
    form cap is then a 413 (guards.BodyLimit), never a form quietly parsed as empty. What no
    store can hold is a 400 (bodies.read_form)."""
    await request.body()  # cached: form() parses these bytes
    form = await read_form(request)
    out: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if key == "sections" else (values[0] if values else "")
    return out


def token_page(
    ctx: WebContext, request: Request, token: str, *, purpose: tokens.Purpose, template: str
) -> Response:
    """The page behind an emailed link: a button that POSTs; a GET never changes anything."""
    try:
        tokens.read(ctx.identity.secret, purpose, token, now=ctx.now())
    except tokens.TokenError:
        return bad_link(ctx, request)
    return page(ctx, request, template)


async def token_action(
    ctx: WebContext,
    request: Request,
    token: str,
    action: Callable[..., object],
    done: str,
) -> Response:
    """The button behind an emailed link: ``action(engine, secret, token, now=…)`` on the store
    writer, then the ``done`` message page (a bad, expired or wrong-purpose token: bad link)."""
    try:
        await ctx.write(action, ctx.engine, ctx.identity.secret, token, now=ctx.now())
    except tokens.TokenError:
        return bad_link(ctx, request)
    return message(ctx, request, f"{done}_title", done)


def holder_page(
    ctx: WebContext, request: Request, token: str, *, purpose: tokens.Purpose, template: str
) -> Response:
    """``token_page`` for a link that names a reader: one who is gone (deleted, or the id
    now names a later sign-up) gets "this link cannot be used" too."""
    try:
        who = signup.subscriber_for(ctx.engine, ctx.identity.secret, purpose, token, now=ctx.now())
    except tokens.TokenError:
        who = None
    return bad_link(ctx, request) if who is None else page(ctx, request, template)


async def confirm_mail(ctx: WebContext, language: str) -> signup.ConfirmMail:
    """The confirmation message of a language, rendered once per process off the store
    writer, whatever the address: the writer's work per request is then a few small writes."""
    cache: dict[str, signup.ConfirmMail] = ctx.state.setdefault("confirm-mail", {})
    found = cache.get(language)
    if found is None:

        def render() -> signup.ConfirmMail:
            return signup.ConfirmMail.render(ctx.identity, ctx.renderer(language), language)

        found = cache[language] = await asyncio.to_thread(render)
    return found


async def _subscribe_later(ctx: WebContext, **request: Any) -> bool:
    """The per-address part of a sign-up, after the answer; a failure is logged, not shown."""
    try:
        mail = await confirm_mail(ctx, request["language"])
        return await ctx.write(
            signup.subscribe, ctx.engine, ctx.identity, mail,
            cap_per_day=ctx.settings.confirm_per_address_day, **request,
        )  # fmt: skip
    except Exception:
        log.exception("subscribe: the confirmation request could not be recorded")
        return False


def section_options(ctx: WebContext) -> list[dict[str, str]]:
    return [{"slug": s.slug, "name": s.name} for s in list_sections(ctx.engine)]


def choice_from(ctx: WebContext, form: dict[str, Any]) -> tuple[list[str], str]:
    known = {s["slug"] for s in section_options(ctx)}
    sections = [s for s in form.get("sections", []) if s]
    frequency = str(form.get("frequency") or ctx.frequencies()[0])
    if any(s not in known for s in sections) or frequency not in ctx.frequencies():
        raise formcheck.InputError("sections", "err_choice")
    return sections, frequency


def alerts_from(form: dict[str, Any]) -> bool:
    """The breaking-news checkbox: ticked is "yes"; absent (unticked) is no."""
    return form.get("alerts") == "yes"


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/subscribe")
    async def subscribe_form(request: Request) -> Response:
        ctx = context_of(request)
        sections = await asyncio.to_thread(section_options, ctx)
        return page(ctx, request, "subscribe", sections=sections,
                    frequencies=ctx.frequencies(), error=None, field=None,
                    consent_text=ctx.settings.consent_text)  # fmt: skip

    @r.post("/subscribe")
    async def subscribe(request: Request) -> Response:
        ctx = context_of(request)
        form = await form_of(request)
        lang = ctx.language(request, form.get("lang"))
        try:
            email = formcheck.single_address(str(form.get("email", "")))
            name = formcheck.person_name(str(form.get("name", "")), required=False)
            sections, frequency = await asyncio.to_thread(choice_from, ctx, form)
        except formcheck.InputError as exc:
            return page(ctx, request, "subscribe", status=400, lang=lang,
                        sections=await asyncio.to_thread(section_options, ctx),
                        frequencies=ctx.frequencies(), error=exc.key, field=exc.field,
                        consent_text=ctx.settings.consent_text)  # fmt: skip
        resp = message(ctx, request, "subscribe_done_title", "subscribe_done", lang=lang)
        if not form.get("website"):  # the honeypot: bots fill every field
            client = hash_ip(ctx.identity.secret, ctx.client_ip(request))
            try:  # per client, the same work for every address: fine before the answer
                await ctx.write(signup.admit, ctx.engine, client=client,
                                per_client_hour=ctx.settings.subscribe_per_ip_hour,
                                now=ctx.now())  # fmt: skip
            except signup.TooMany:
                resp = message(ctx, request, "too_many_title", "too_many", status=429, lang=lang)
                resp.headers["Retry-After"] = "3600"
                return resp
            # What differs per address (known, confirmed, capped) runs after the answer is
            # sent: the same bytes at the same time for every address (issue 11.14).
            resp.background = BackgroundTask(
                _subscribe_later, ctx, email=email, name=name, sections=sections,
                frequency=frequency, language=lang, now=ctx.now(), alerts=alerts_from(form),
                act=web_act(ctx, request),
            )  # fmt: skip
        return resp

    @r.get("/confirm/{token}")
    async def confirm_form(request: Request, token: str) -> Response:
        return await asyncio.to_thread(
            holder_page, context_of(request), request, token, purpose="confirm",
            template="confirm",
        )  # fmt: skip

    @r.post("/confirm/{token}")
    async def confirm(request: Request, token: str) -> Response:
        ctx = context_of(request)
        try:
            done = await ctx.write(
                signup.confirm,
                ctx.engine,
                ctx.identity.secret,
                token,
                now=ctx.now(),
                act=dataclasses.replace(web_act(ctx, request), channel="mail"),
            )
        except tokens.TokenError:
            return bad_link(ctx, request)
        if not done:  # used, or replaced by a newer request: say so, never "confirmed"
            return message(ctx, request, "confirm_used_title", "confirm_used", status=409)
        return message(ctx, request, "confirmed_title", "confirmed")

    @r.get("/u/{token}")
    async def unsubscribe_form(request: Request, token: str) -> Response:
        return await asyncio.to_thread(
            holder_page, context_of(request), request, token, purpose="unsubscribe",
            template="unsubscribe",
        )  # fmt: skip

    @r.post("/u/{token}")
    async def unsubscribe(request: Request, token: str) -> Response:
        """The page's button and RFC 8058 one-click: no cookie, no CSRF token, 200, no redirect.

        The body (List-Unsubscribe=One-Click, urlencoded or multipart) is not needed: the
        signed token alone says who, and a POST is never sent by a link scanner.
        """
        ctx = context_of(request)
        try:  # a reader who is gone (deleted, or the id is someone's since): a bad link
            act = dataclasses.replace(web_act(ctx, request), channel="mail")
            await ctx.write(signup.unsubscribe, ctx.engine, ctx.identity.secret, "unsubscribe",
                            token, now=ctx.now(), act=act)  # fmt: skip
        except tokens.TokenError:
            return bad_link(ctx, request)
        return message(ctx, request, "unsubscribed_title", "unsubscribed")

    @r.get("/archive/{digest_id}/{run_id}")
    def archive(request: Request, digest_id: str, run_id: int) -> Response:
        ctx = context_of(request)
        # An id no run can have (past 32 bits: PostgreSQL would refuse the lookup) names none.
        found = run_archive(ctx.engine, digest_id, run_id) if 0 < run_id <= INT4_MAX else None
        if found is None:
            return message(ctx, request, "bad_link_title", "bad_link", status=404)
        return HTMLResponse(found[1], headers={"Cache-Control": "public, max-age=300"})

    return r
