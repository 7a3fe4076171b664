""" "Send this article by email": the form, its abuse controls, and the recipient's block link."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

from publisher.core import tokens
from publisher.core.config import Settings
from publisher.core.models import Article
from publisher.intake.articles import published_article
from publisher.readers import formcheck, sharing
from publisher.render.linebudget import Unfit
from publisher.web.context import WebContext, context_of
from publisher.web.pages import form_of, message, page, token_action, token_page

log = logging.getLogger("publisher.web.share")


def _published(ctx: WebContext, article_id: str) -> Article | None:
    return published_article(ctx.engine, article_id)


def _article_tag(article_id: str) -> int:
    """48 bits naming the article inside the signed form token (ids must be integers)."""
    return int.from_bytes(hashlib.sha256(article_id.encode("utf-8")).digest()[:6], "big")


def _form_token(secret: str, article_id: str, now: datetime) -> str:
    """Signed (time shown, article, one-time number): one form, one article, one send."""
    ids = (int(now.timestamp()), _article_tag(article_id), secrets.randbits(62))
    return tokens.make(secret, "form", ids, now=now)


def _read_form_token(secret: str, article_id: str, token: str, now: datetime) -> tuple[int, int]:
    """(time shown, one-time number) of a token issued for this article, or TokenError."""
    ids = tokens.read(secret, "form", token, now=now)
    if len(ids) != 3 or ids[1] != _article_tag(article_id):
        raise tokens.TokenError("form token for another article")
    return ids[0], ids[2]


def _same_site(ctx: WebContext, request: Request) -> bool:
    """A browser's Origin, when sent, must be ours or the news site's (the form is embedded)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    ours = urlsplit(ctx.settings.public_base_url)
    return origin in (f"{ours.scheme}://{ours.netloc}", ctx.cors_origin)


def _checked(
    ctx: WebContext, request: Request, form: dict[str, Any], article_id: str,
    values: dict[str, str],
    now: datetime,
) -> tuple[int, int, str, str, str]:  # fmt: skip
    """The share form read and checked: (shown at, nonce, to, name, note). Raises
    ``tokens.TokenError`` or ``formcheck.InputError``."""
    if not _same_site(ctx, request):
        raise formcheck.InputError("form_token", "err_form")
    shown, nonce = _read_form_token(ctx.identity.secret, article_id,
                                    str(form.get("form_token", "")), now)  # fmt: skip
    if now.timestamp() - shown < ctx.settings.share_min_seconds:
        raise formcheck.InputError("form_token", "err_fast")
    to = formcheck.single_address(values["to"], "to")
    name = formcheck.person_name(values["name"], required=True)
    note = formcheck.plain_note(values["note"])
    return shown, nonce, to, name, note


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def form_page(
        ctx: WebContext, request: Request, article: Article, *, status: int = 200,
        error: str | None = None, field: str | None = None, values: dict[str, str] | None = None,
        lang: str | None = None,
    ) -> Response:  # fmt: skip
        form_token = _form_token(ctx.identity.secret, article.external_id, ctx.now())
        resp = page(ctx, request, "share", status=status, lang=lang, article=article,
                    form_token=form_token, error=error, field=field,
                    values=values or {})  # fmt: skip
        # No token in this URL; "no-referrer" would make the browser send "Origin: null".
        resp.headers["Referrer-Policy"] = "same-origin"
        return resp

    @r.get("/articles/{article_id}/share")
    async def share_form(request: Request, article_id: str) -> Response:
        ctx = context_of(request)
        article = await asyncio.to_thread(_published, ctx, article_id)
        if article is None:
            return message(ctx, request, "article_missing_title", "article_missing", status=404)
        return form_page(ctx, request, article)

    @r.post("/articles/{article_id}/share")
    async def share(request: Request, article_id: str) -> Response:
        ctx = context_of(request)
        form = await form_of(request)
        lang = ctx.language(request, form.get("lang"))
        values = {k: str(form.get(k, "")) for k in ("to", "name", "note")}
        now = ctx.now()
        try:
            shown, nonce, to, name, note = _checked(ctx, request, form, article_id, values, now)
        except (tokens.TokenError, formcheck.InputError) as exc:
            article = await asyncio.to_thread(_published, ctx, article_id)
            if article is None:
                return message(
                    ctx, request, "article_missing_title", "article_missing", status=404, lang=lang
                )
            key, field = ("err_form", "form_token")
            if isinstance(exc, formcheck.InputError):
                key, field = exc.key, exc.field
            return form_page(ctx, request, article, status=400, error=key, field=field,
                             values=values, lang=lang)  # fmt: skip
        expires = datetime.fromtimestamp(shown, UTC) + tokens.MAX_AGE["form"]
        item = sharing.Share(article_id=article_id, recipient=to, sender_name=name, note=note,
                             client_ip=ctx.client_ip(request), form_nonce=nonce,
                             form_expires=expires)  # fmt: skip
        outcome: sharing.Outcome = "sent"
        if not form.get("website"):  # the honeypot: answer like a success, send nothing
            try:
                outcome = await ctx.write(
                    sharing.send, ctx.engine, ctx.identity, ctx.share_templates(lang), item,
                    limits=ctx.limits, now=now,
                )  # fmt: skip
            except sharing.RateLimited:
                resp = message(ctx, request, "too_many_title", "too_many", status=429, lang=lang)
                resp.headers["Retry-After"] = "3600"
                return resp
            except (sharing.FormUsed, Unfit) as exc:
                article = await asyncio.to_thread(_published, ctx, article_id)
                if article is None:
                    return message(
                        ctx, request, "bad_link_title", "bad_link", status=404, lang=lang
                    )
                used = isinstance(exc, sharing.FormUsed)
                if not used:  # values are folded to fit: reaching this is a bug, say so
                    log.error("share of %s not queued: %s", article_id, exc)
                # A replayed form: 409 and a fresh form, filled in as sent, for a real resend.
                return form_page(ctx, request, article, status=409 if used else 400,
                                 error="err_used" if used else "err_note",
                                 field="form_token" if used else "note", values=values,
                                 lang=lang)  # fmt: skip
        if outcome == "missing":
            return message(
                ctx, request, "article_missing_title", "article_missing", status=404, lang=lang
            )
        return message(ctx, request, "share_done_title", "share_done", lang=lang)

    @r.get("/share-block/{token}")
    async def block_form(request: Request, token: str) -> Response:
        ctx = context_of(request)
        return token_page(ctx, request, token, purpose="share-block", template="share_block")

    @r.post("/share-block/{token}")
    async def block(request: Request, token: str) -> Response:
        ctx = context_of(request)
        return await token_action(ctx, request, token, sharing.block, "share_blocked")

    return r
