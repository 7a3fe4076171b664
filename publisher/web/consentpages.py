"""Consent on the reader's pages: who acted and how (for the log), and the reconfirmation
link of advertising consent (GET asks, POST answers: a link scanner changes nothing)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request, Response

from publisher.consent import reconfirm as use
from publisher.consent.record import Act
from publisher.core import tokens
from publisher.core.config import Settings
from publisher.readers.sharing import hash_ip
from publisher.web.context import WebContext, context_of


def web_act(ctx: WebContext, request: Request) -> Act:
    """The consent log's "who and how" for a reader's act on a page: the form channel, a
    keyed hash of the client IP and the version of the consent text the site shows."""
    return Act("form", ctx.identity.secret, hash_ip(ctx.identity.secret, ctx.client_ip(request)),
               ctx.settings.consent_text_version)  # fmt: skip


def router(_settings: Settings) -> APIRouter:
    # The pages module's helpers, imported here: pages imports web_act from this module.
    from publisher.web.pages import bad_link, message, token_page

    r = APIRouter(include_in_schema=False)

    @r.get("/reconfirm/{token}")
    def reconfirm_form(request: Request, token: str) -> Response:
        ctx = context_of(request)
        return token_page(ctx, request, token, purpose="reconfirm", template="confirm")

    @r.post("/reconfirm/{token}")
    async def reconfirm(request: Request, token: str) -> Response:
        ctx = context_of(request)
        act = dataclasses.replace(web_act(ctx, request), channel="mail")
        try:
            done = await ctx.write(use.reconfirm, ctx.engine, ctx.identity.secret, token,
                                   now=ctx.now(), act=act)  # fmt: skip
        except tokens.TokenError:
            return bad_link(ctx, request)
        if not done:
            return bad_link(ctx, request)
        return message(ctx, request, "confirmed_title", "confirmed")

    return r
