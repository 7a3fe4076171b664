"""Reader pages: subscribe, confirm, unsubscribe (RFC 8058 one-click), preferences, archive.

A GET never changes anything (link scanners follow GETs); every change is a POST.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from publisher import formcheck, signup, tokens
from publisher.config import Settings
from publisher.models import Subscriber
from publisher.sharing import hash_ip
from publisher.store import webstate
from publisher.store.articles import list_sections
from publisher.web.context import WebContext, context_of

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
    """Fields of an urlencoded or multipart body: lists for repeated names, strings else."""
    form = await request.form()
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


def _sections(ctx: WebContext) -> list[dict[str, str]]:
    with ctx.engine.connect() as conn:
        return [{"slug": s.slug, "name": s.name} for s in list_sections(conn)]


def _choice(ctx: WebContext, form: dict[str, Any]) -> tuple[list[str], str]:
    known = {s["slug"] for s in _sections(ctx)}
    sections = [s for s in form.get("sections", []) if s]
    frequency = str(form.get("frequency") or ctx.frequencies()[0])
    if any(s not in known for s in sections) or frequency not in ctx.frequencies():
        raise formcheck.InputError("sections", "err_choice")
    return sections, frequency


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/subscribe")
    async def subscribe_form(request: Request) -> Response:
        ctx = context_of(request)
        sections = await asyncio.to_thread(_sections, ctx)
        return page(ctx, request, "subscribe", sections=sections,
                    frequencies=ctx.frequencies(), error=None, field=None)  # fmt: skip

    @r.post("/subscribe")
    async def subscribe(request: Request) -> Response:
        ctx = context_of(request)
        form = await form_of(request)
        lang = ctx.language(request, form.get("lang"))
        try:
            email = formcheck.single_address(str(form.get("email", "")))
            name = formcheck.person_name(str(form.get("name", "")), required=False)
            sections, frequency = await asyncio.to_thread(_choice, ctx, form)
        except formcheck.InputError as exc:
            return page(ctx, request, "subscribe", status=400, lang=lang,
                        sections=await asyncio.to_thread(_sections, ctx),
                        frequencies=ctx.frequencies(), error=exc.key, field=exc.field)  # fmt: skip
        if not form.get("website"):  # the honeypot: bots fill every field
            client = hash_ip(ctx.identity.secret, ctx.client_ip(request))
            try:
                await ctx.write(
                    signup.subscribe, ctx.engine, ctx.identity, ctx.renderer(lang), email=email,
                    name=name, sections=sections, frequency=frequency, language=lang,
                    now=ctx.now(), cap_per_day=ctx.settings.confirm_per_address_day,
                    client=client, per_client_hour=ctx.settings.subscribe_per_ip_hour,
                )  # fmt: skip
            except signup.TooMany:
                resp = message(ctx, request, "too_many_title", "too_many", status=429, lang=lang)
                resp.headers["Retry-After"] = "3600"
                return resp
        # The same page for new, pending, confirmed and unsubscribed addresses.
        return message(ctx, request, "subscribe_done_title", "subscribe_done", lang=lang)

    @r.get("/confirm/{token}")
    async def confirm_form(request: Request, token: str) -> Response:
        return token_page(
            context_of(request), request, token, purpose="confirm", template="confirm"
        )

    @r.post("/confirm/{token}")
    async def confirm(request: Request, token: str) -> Response:
        return await token_action(context_of(request), request, token, signup.confirm, "confirmed")

    @r.get("/u/{token}")
    async def unsubscribe_form(request: Request, token: str) -> Response:
        return token_page(
            context_of(request), request, token, purpose="unsubscribe", template="unsubscribe"
        )

    @r.post("/u/{token}")
    async def unsubscribe(request: Request, token: str) -> Response:
        """The page's button and RFC 8058 one-click: no cookie, no CSRF token, 200, no redirect.

        The body (List-Unsubscribe=One-Click, urlencoded or multipart) is not needed: the
        signed token alone says who, and a POST is never sent by a link scanner.
        """
        ctx = context_of(request)
        try:
            ids = tokens.read(ctx.identity.secret, "unsubscribe", token, now=ctx.now())
        except tokens.TokenError:
            return bad_link(ctx, request)
        await ctx.write(signup.unsubscribe_id, ctx.engine, ids[0], now=ctx.now())
        return message(ctx, request, "unsubscribed_title", "unsubscribed")

    def _prefs(ctx: WebContext, token: str) -> Subscriber | None:
        return signup.subscriber_for(
            ctx.engine, ctx.identity.secret, "preferences", token, now=ctx.now()
        )

    def _prefs_page(ctx: WebContext, request: Request, who: Subscriber, **extra: Any) -> Response:
        return page(ctx, request, "preferences", who=who, sections=_sections(ctx),
                    frequencies=ctx.frequencies(), **extra)  # fmt: skip

    @r.get("/preferences/{token}")
    def preferences_form(request: Request, token: str) -> Response:
        ctx = context_of(request)
        try:
            who = _prefs(ctx, token)
        except tokens.TokenError:
            return bad_link(ctx, request)
        if who is None:
            return bad_link(ctx, request)
        return _prefs_page(ctx, request, who, saved=False, error=None)

    @r.post("/preferences/{token}")
    async def preferences(request: Request, token: str) -> Response:
        ctx = context_of(request)
        form = await form_of(request)
        try:
            who = await asyncio.to_thread(_prefs, ctx, token)
        except tokens.TokenError:
            return bad_link(ctx, request)
        if who is None:
            return bad_link(ctx, request)
        action = form.get("action", "save")
        now = ctx.now()
        if action == "export":
            body = json.dumps(signup.my_data(who), ensure_ascii=False, indent=2)
            disposition = 'attachment; filename="my-newsletter-data.json"'
            return Response(body, media_type="application/json",
                            headers={**NO_STORE, "Content-Disposition": disposition})  # fmt: skip
        if action == "delete":
            await ctx.write(signup.delete, ctx.engine, who.id, now=now)
            return message(ctx, request, "deleted_title", "deleted")
        if action == "unsubscribe":
            await ctx.write(signup.unsubscribe_id, ctx.engine, who.id, now=now)
            return message(ctx, request, "unsubscribed_title", "unsubscribed")
        try:
            sections, frequency = await asyncio.to_thread(_choice, ctx, form)
        except formcheck.InputError as exc:
            return await asyncio.to_thread(
                _prefs_page, ctx, request, who, saved=False, error=exc.key
            )
        await ctx.write(
            signup.update_choice, ctx.engine, who.id, sections=sections, frequency=frequency
        )
        fresh = await asyncio.to_thread(_prefs, ctx, token)
        assert fresh is not None
        return await asyncio.to_thread(_prefs_page, ctx, request, fresh, saved=True, error=None)

    @r.get("/archive/{digest_id}/{run_id}")
    def archive(request: Request, digest_id: str, run_id: int) -> Response:
        ctx = context_of(request)
        with ctx.engine.connect() as conn:
            found = webstate.run_archive(conn, digest_id, run_id)
        if found is None:
            return message(ctx, request, "bad_link_title", "bad_link", status=404)
        return HTMLResponse(found[1], headers={"Cache-Control": "public, max-age=300"})

    return r
