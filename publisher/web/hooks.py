"""The sending services' webhooks: /hooks/ses (SNS), /hooks/sendgrid, /hooks/postmark,
/hooks/mailgun. Each verifies its service's signature and signed time before anything is
read as an event; a refusal is a 4xx and changes nothing (inbound/webhooks/)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from publisher.core.config import Settings
from publisher.core.httpclient import HttpClient, HttpError
from publisher.core.vocab import InboundSourceKind
from publisher.inbound.effects import Rules
from publisher.inbound.webhooks import espevents, ses
from publisher.inbound.webhooks.events import Event, Once, WebhookRefused, apply_events, parse
from publisher.web.context import WebContext, context_of
from publisher.web.errors import ApiError

CERT_MAX_BYTES = 64 * 1024
FETCHER = "sns_cert_fetch"  # ctx.state key: tests put a loopback fetcher here
ON_OUTCOME = "inbound_outcome"  # ctx.state key: the daemon's prometheus counter of outcomes


def fetch_https(url: str) -> bytes:
    """The real CertFetcher: GET over https with a short timeout, 200 only. A redirect is
    refused, not followed: the URL was checked to be an SNS host, its target was not."""
    with HttpClient(timeout=10.0) as client:
        resp = client.get(url, max_bytes=CERT_MAX_BYTES, follow_redirects=False)
    if resp.status != 200:
        raise HttpError(f"{url}: HTTP {resp.status}")
    return resp.body


async def _body(request: Request, settings: Settings) -> bytes:
    raw = await request.body()
    if len(raw) > settings.webhook_max_bytes:
        raise ApiError(413, f"request body over {settings.webhook_max_bytes} bytes")
    return raw


async def _apply(
    ctx: WebContext, events: list[Event], source: InboundSourceKind, once: Once | None = None
) -> dict[str, Any]:
    rules = Rules.of(ctx.settings)
    try:
        done = await ctx.write(apply_events, ctx.engine, rules, events, source=source,
                               now=ctx.now(), on_outcome=ctx.state.get(ON_OUTCOME),
                               once=once)  # fmt: skip
    except WebhookRefused as exc:  # a signed token used before
        raise _refused(exc) from None
    return {"events": len(done), "applied": sum(1 for a in done if not a.duplicate)}


def _refused(exc: WebhookRefused) -> ApiError:
    return ApiError(exc.status, str(exc))


def router(_settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/hooks", tags=["webhooks"])

    @r.post("/ses")
    async def ses_hook(request: Request) -> dict[str, Any]:
        """Amazon SES bounce and complaint notifications, delivered by SNS."""
        ctx = context_of(request)
        s = ctx.settings
        if not s.ses_topic_arns:
            raise ApiError(404, "ses_topic_arns is not set")
        raw = await _body(request, s)
        fetch = ctx.state.get(FETCHER, fetch_https)
        try:
            # In a thread: the first message of a certificate fetches it (blocking HTTP).
            doc = await asyncio.to_thread(
                ses.verify, parse(raw), topics=s.ses_topic_arns, now=ctx.now(),
                tolerance=s.webhook_tolerance,
                fetch=fetch, cache=ctx.state.setdefault("sns_certs", {}),
            )  # fmt: skip
            if doc["Type"] == "SubscriptionConfirmation":
                url = ses.aws_url(doc.get("SubscribeURL"), pem=False)
                await asyncio.to_thread(fetch, url)
                return {"subscribed": doc["TopicArn"]}
            if doc["Type"] != "Notification":
                return {"events": 0, "applied": 0}
            return await _apply(ctx, ses.events(doc), "ses")
        except WebhookRefused as exc:
            raise _refused(exc) from None
        except HttpError as exc:
            raise ApiError(503, f"cannot confirm the subscription: {exc}") from None

    @r.post("/sendgrid")
    async def sendgrid_hook(request: Request) -> dict[str, Any]:
        """SendGrid's signed event webhook: bounces and spam reports."""
        ctx = context_of(request)
        s = ctx.settings
        raw = await _body(request, s)
        try:
            events = espevents.sendgrid(raw, request.headers, key=s.sendgrid_public_key,
                                        now=ctx.now(), tolerance=s.webhook_tolerance)  # fmt: skip
        except WebhookRefused as exc:
            raise _refused(exc) from None
        return await _apply(ctx, events, "sendgrid")

    @r.post("/postmark")
    async def postmark_hook(request: Request) -> dict[str, Any]:
        """Postmark's bounce and spam-complaint webhooks (basic auth)."""
        ctx = context_of(request)
        s = ctx.settings
        raw = await _body(request, s)
        try:
            events = espevents.postmark(
                raw, request.headers.get("authorization"), secret=s.postmark_webhook_secret,
                now=ctx.now(), tolerance=s.webhook_tolerance,
            )  # fmt: skip
        except WebhookRefused as exc:
            raise _refused(exc) from None
        return await _apply(ctx, events, "postmark")

    @r.post("/mailgun")
    async def mailgun_hook(request: Request) -> dict[str, Any]:
        """Mailgun's signed webhooks: failed (permanent, temporary) and complained."""
        ctx = context_of(request)
        s = ctx.settings
        raw = await _body(request, s)
        try:
            events, once = espevents.mailgun(raw, key=s.mailgun_signing_key, now=ctx.now(),
                                             tolerance=s.webhook_tolerance)  # fmt: skip
        except WebhookRefused as exc:
            raise _refused(exc) from None
        return await _apply(ctx, events, "mailgun", once)

    return r
