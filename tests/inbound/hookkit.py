"""The sending services' webhooks served by the real ASGI app on a given store, with the keys
each service signs with (signkit) and a digest sent to readers their events can name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.metrics import Metrics
from publisher.web.app import create_app
from publisher.web.context import WebContext
from publisher.web.hooks import FETCHER, ON_OUTCOME
from tests.digestkit import NOW, schedules
from tests.inbound.inboundkit import SentRow, sent_digest
from tests.inbound.signkit import TOPIC, LoopbackHttps, SendGridKey, SnsSigner

POSTMARK = "postmark:a-long-webhook-password"
MAILGUN_KEY = "key-mailgun-signing-0123456789"


@dataclass
class Hooks:
    client: httpx.AsyncClient
    rows: list[SentRow]
    engine: Engine
    sns: SnsSigner
    https: LoopbackHttps
    sendgrid: SendGridKey
    metrics: Metrics
    clock: FixedClock
    tolerance: timedelta


async def open_hooks(engine: Engine, settings: Settings, tmp_path: Path) -> AsyncIterator[Hooks]:
    """Every service configured; 8 readers sent a digest (``rows``); the clock at NOW."""
    sns, sendgrid = SnsSigner(tmp_path), SendGridKey()
    s = settings.model_copy(update={
        "bounce_address": "bounces@news.example.kr", "ses_topic_arns": [TOPIC],
        "sendgrid_public_key": sendgrid.public_b64, "postmark_webhook_secret": POSTMARK,
        "mailgun_signing_key": MAILGUN_KEY,
    })  # fmt: skip
    rows = sent_digest(engine, s, 8)
    https = LoopbackHttps(sns)
    clock = FixedClock(NOW)
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules())
    ctx.state[FETCHER] = https.fetch
    metrics = Metrics()
    ctx.state[ON_OUTCOME] = metrics.inbound_outcome
    transport = httpx.ASGITransport(app=create_app(s, context=ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Hooks(client, rows, engine, sns, https, sendgrid, metrics, clock,
                    s.webhook_tolerance)  # fmt: skip
    await ctx.close()
    https.close()
