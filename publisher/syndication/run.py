"""The daemon's `syndication` job: webhook deliveries, then IndexNow submissions."""

from __future__ import annotations

from datetime import datetime, timedelta

from publisher.core.config import Settings
from publisher.core.httpclient import HttpClient
from publisher.store.types import Engine
from publisher.syndication.indexnow import submit_indexnow
from publisher.syndication.webhooks import deliver_webhooks

EVERY = timedelta(seconds=30)  # the first webhook retry comes after 30 s: no need to look sooner


def configured(settings: Settings) -> bool:
    return bool(settings.webhooks or settings.indexnow_endpoints)


def run_syndication(
    settings: Settings, engine: Engine, client: HttpClient, *, now: datetime
) -> str:
    """One pass; each part keeps its own durable queue, so a failure here loses nothing."""
    parts: list[str] = []
    if settings.webhooks:
        w = deliver_webhooks(settings, engine, client, now=now)
        off = f", disabled: {', '.join(w.disabled)}" if w.disabled else ""
        parts.append(f"webhooks {w.delivered} delivered, {w.failed} failed{off}")
    if settings.indexnow_endpoints:
        i = submit_indexnow(settings, engine, client, now=now)
        parts.append(f"indexnow {i.submitted} submitted, {i.dropped} dropped, {i.waiting} waiting")
    return "; ".join(parts) or "nothing configured"
