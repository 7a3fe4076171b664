"""Reader pages behind the preferences link in every digest's footer: choices, unsubscribe,
subscribe again, "download my data" and "delete my data" (with a confirmation step)."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request, Response

from publisher.consent.history import history as consent_history
from publisher.core import tokens
from publisher.core.config import Settings
from publisher.core.models import Subscriber
from publisher.readers import formcheck, signup
from publisher.web import readerclicks as reader_clicks
from publisher.web.consentpages import web_act
from publisher.web.context import WebContext, context_of
from publisher.web.pages import (
    NO_STORE,
    alerts_from,
    bad_link,
    choice_from,
    confirm_mail,
    form_of,
    message,
    page,
    section_options,
)


def router(_settings: Settings) -> APIRouter:
    r = APIRouter()
    _preference_routes(r)
    return r


# -- preferences: the link in every digest's footer -----------------------------------------


def _prefs(ctx: WebContext, token: str) -> Subscriber | None:
    return signup.subscriber_for(
        ctx.engine, ctx.identity.secret, "preferences", token, now=ctx.now()
    )


def _prefs_page(
    ctx: WebContext, request: Request, who: Subscriber, *, token: str, lang: str | None = None,
    notice: str | None = None, error: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    """The page shows the subscription's state: an unsubscribed reader is told so and offered
    to subscribe again (with a confirmation mail), never a page that looks active."""
    return page(ctx, request, "preferences", status=status, lang=lang, who=who, token=token,
                sections=section_options(ctx), frequencies=ctx.frequencies(), notice=notice,
                error=error, click_tracking=reader_clicks.tracking_state(ctx, who.id))  # fmt: skip


def _delete_page(
    ctx: WebContext, request: Request, who: Subscriber, *, action: str, back: str,
    lang: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    return page(ctx, request, "delete", status=status, lang=lang, who=who, action=action,
                back=back)  # fmt: skip


def _preference_routes(r: APIRouter) -> None:
    async def reader(ctx: WebContext, token: str) -> Subscriber | None:
        try:
            return await asyncio.to_thread(_prefs, ctx, token)
        except tokens.TokenError:
            return None

    @r.get("/preferences/{token}")
    async def preferences_form(request: Request, token: str) -> Response:
        ctx = context_of(request)
        who = await reader(ctx, token)
        if who is None:  # a bad token, or the data is deleted
            return bad_link(ctx, request)
        return await asyncio.to_thread(_prefs_page, ctx, request, who, token=token)

    @r.post("/preferences/{token}")
    async def preferences(request: Request, token: str) -> Response:
        ctx = context_of(request)
        form = await form_of(request)
        lang = ctx.language(request, form.get("lang"))
        who = await reader(ctx, token)
        if who is None:
            return bad_link(ctx, request, lang=lang)
        action = form.get("action", "save")
        if action in reader_clicks.ACTIONS:  # per-reader click tracking off / on again
            await ctx.write(reader_clicks.apply, ctx, who.id, action)
            return await asyncio.to_thread(
                _prefs_page, ctx, request, who, token=token, lang=lang, notice="saved"
            )
        if action == "export":
            history = await asyncio.to_thread(
                consent_history, ctx.engine, ctx.identity.secret, who.email
            )
            data = {**signup.my_data(who, history), **reader_clicks.my_data(ctx, who.id)}
            body = json.dumps(data, ensure_ascii=False, indent=2)
            disposition = 'attachment; filename="my-newsletter-data.json"'
            return Response(body, media_type="application/json",
                            headers={**NO_STORE, "Content-Disposition": disposition})  # fmt: skip
        if action == "delete":  # a form from before the confirmation step: ask first
            return _delete_page(ctx, request, who, action=f"{token}/delete", back=token,
                                lang=lang)  # fmt: skip
        if action == "unsubscribe":
            try:  # by the token again, in the writing transaction
                await ctx.write(signup.unsubscribe, ctx.engine, ctx.identity.secret,
                                "preferences", token, now=ctx.now(),
                                act=web_act(ctx, request))  # fmt: skip
            except tokens.TokenError:
                return bad_link(ctx, request, lang=lang)
            return message(ctx, request, "unsubscribed_title", "unsubscribed", lang=lang)
        try:
            sections, frequency = await asyncio.to_thread(choice_from, ctx, form)
        except formcheck.InputError as exc:
            return await asyncio.to_thread(
                _prefs_page, ctx, request, who, token=token, lang=lang, error=exc.key, status=400
            )
        if action == "resubscribe" and who.status != "confirmed":
            return await _resubscribe(ctx, request, who, sections, frequency, lang,
                                      alerts=alerts_from(form))  # fmt: skip
        try:
            await ctx.write(signup.change_choice, ctx.engine, ctx.identity.secret, token,
                            sections=sections, frequency=frequency, now=ctx.now(),
                            alerts=alerts_from(form), act=web_act(ctx, request))  # fmt: skip
        except tokens.TokenError:
            return bad_link(ctx, request, lang=lang)
        fresh = await reader(ctx, token)
        if fresh is None:  # deleted meanwhile
            return bad_link(ctx, request, lang=lang)
        notice = "saved" if fresh.status == "confirmed" else "saved_inactive"
        return await asyncio.to_thread(
            _prefs_page, ctx, request, fresh, token=token, lang=lang, notice=notice
        )

    @r.get("/preferences/{token}/delete")
    async def delete_form(request: Request, token: str) -> Response:
        """Deleting cannot be undone: the GET only asks; the POST needs ``confirm=yes``."""
        ctx = context_of(request)
        who = await reader(ctx, token)
        if who is None:
            return bad_link(ctx, request)
        return _delete_page(ctx, request, who, action="", back=f"../{token}")

    @r.post("/preferences/{token}/delete")
    async def delete(request: Request, token: str) -> Response:
        ctx = context_of(request)
        form = await form_of(request)
        lang = ctx.language(request, form.get("lang"))
        who = await reader(ctx, token)
        if who is None:
            return bad_link(ctx, request, lang=lang)
        if form.get("confirm") != "yes":
            return _delete_page(ctx, request, who, action="", back=f"../{token}", lang=lang,
                                status=400)  # fmt: skip
        try:
            await ctx.write(signup.delete_mine, ctx.engine, ctx.identity.secret, token,
                            now=ctx.now(), act=web_act(ctx, request))  # fmt: skip
        except tokens.TokenError:
            return bad_link(ctx, request, lang=lang)
        return message(ctx, request, "deleted_title", "deleted", lang=lang)


async def _resubscribe(
    ctx: WebContext, request: Request, who: Subscriber, sections: list[str], frequency: str,
    lang: str, *, alerts: bool = False,
) -> Response:  # fmt: skip
    """Subscribe again from the preferences page: a confirmation mail, as for a new sign-up
    (a preferences link is often forwarded; the mailbox must still say yes)."""
    sent = await ctx.write(
        signup.subscribe, ctx.engine, ctx.identity, await confirm_mail(ctx, lang), email=who.email,
        name=who.name, sections=sections, frequency=frequency, language=lang, now=ctx.now(),
        cap_per_day=ctx.settings.confirm_per_address_day, alerts=alerts,
        act=web_act(ctx, request),
    )  # fmt: skip
    if not sent:  # today's confirmations for this address are used up
        resp = message(ctx, request, "too_many_title", "too_many", status=429, lang=lang)
        resp.headers["Retry-After"] = "3600"
        return resp
    return message(ctx, request, "resubscribe_sent_title", "resubscribe_sent", lang=lang)
