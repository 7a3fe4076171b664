"""Signed webhooks (Standard Webhooks): events out to the configured endpoints.

Each run first copies new events from the log into per-endpoint deliveries (the endpoint's
cursor moves in the same transaction), then POSTs what is due. A delivery stays pending until
the receiver answers 2xx; each failed attempt waits longer (30 s doubling, at most 6 h). Every
attempt of one event carries the same ``webhook-id`` (the event's stable id), so a receiver
deduplicates the at-least-once retries. After ``webhook_disable_after`` failed attempts in a
row an endpoint is disabled (an ERROR line says so) until ``publisher webhooks enable NAME``;
its events keep queueing meanwhile, so nothing is lost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from publisher.core.config import Settings
from publisher.core.httpclient import HttpResponse
from publisher.core.syndicationsettings import WebhookEndpoint
from publisher.store import events as store_events
from publisher.store import webhooks as store_webhooks
from publisher.store.events import Event
from publisher.store.types import Connection, Engine
from publisher.store.webhooks import EndpointState
from publisher.syndication.signing import signed_headers

log = logging.getLogger(__name__)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
NEW_ENDPOINT_HISTORY = timedelta(days=1)  # what a newly configured endpoint still receives
BATCH = 100

__all__ = ["EndpointState", "WebhookReport", "backoff", "deliver_webhooks", "enable", "status"]


class BytesPoster(Protocol):
    def post_bytes(self, url: str, body: bytes, *, headers: dict[str, str]) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class WebhookReport:
    queued: int
    delivered: int
    failed: int
    disabled: tuple[str, ...]  # endpoints disabled by this run


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * int(2 ** max(0, attempts - 1)), MAX_RETRY)


def consumer(name: str) -> str:
    return f"webhook:{name}"


def body_of(event: Event) -> str:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    blob = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.payload}
    return json.dumps(blob, ensure_ascii=False, sort_keys=True)


def _fan_out(conn: Connection, endpoint: WebhookEndpoint, *, now: datetime) -> int:
    key = consumer(endpoint.name)
    after = store_events.cursor(conn, key)
    if after is None:  # a new endpoint gets the last day, not the whole history
        after = store_events.last_seq_before(conn, now - NEW_ENDPOINT_HISTORY)
    queued = 0
    while True:
        batch = store_events.settled_after(conn, after, now=now)
        if not batch:
            break
        wanted = [e.seq for e in batch if endpoint.wants(e.type)]
        store_webhooks.queue(conn, endpoint.name, wanted, now=now)
        queued += len(wanted)
        after = batch[-1].seq
    store_events.set_cursor(conn, key, after)
    return queued


def _attempt(client: BytesPoster, endpoint: WebhookEndpoint, event: Event, now: datetime) -> str:
    """'' when the receiver took it, else why not."""
    body = body_of(event)
    headers = signed_headers(endpoint.secret, msg_id=event.event_id, at=now, body=body)
    try:
        answer = client.post_bytes(endpoint.url, body.encode("utf-8"), headers=headers)
    except Exception as exc:  # unreachable, timeout: a failed attempt like any other
        return str(exc)
    if 200 <= answer.status < 300:
        return ""
    return f"HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}".strip()


def _deliver(
    engine: Engine, client: BytesPoster, endpoint: WebhookEndpoint, limit: int, now: datetime
) -> tuple[int, int, bool]:
    """POST what is due, oldest first; stop at the first failure (the receiver is down, the
    rest would only wait for a timeout each). (delivered, failed, disabled now)."""
    with engine.connect() as conn:
        if store_webhooks.is_disabled(conn, endpoint.name):
            return 0, 0, False
        todo = store_webhooks.due(conn, endpoint.name, now=now, limit=BATCH)
        found = store_events.events_by_seq(conn, [d.event for d in todo])
    sent = 0
    for d in todo:
        error = _attempt(client, endpoint, found[d.event], now)
        with engine.begin() as conn:
            if not error:
                store_webhooks.delivered(conn, d.id, now=now)
                sent += 1
                continue
            retry = now + backoff(d.attempts + 1)
            streak = store_webhooks.failed(conn, d.id, error=error, retry_at=retry, now=now)
            # The streak is the endpoint's: each run retries whichever event is due first, so
            # one event's own attempt count alone reads "attempt 1" over and over.
            log.warning("webhook %s: %s (%d failed in a row, this event's attempt %d); "
                        "retry at %s", endpoint.name, error, streak, d.attempts + 1,
                        retry.isoformat())  # fmt: skip
            if streak >= limit:
                store_webhooks.disable(conn, endpoint.name, now=now)
                log.error(
                    "webhook %s disabled after %d failed attempts in a row (last: %s); "
                    "`publisher webhooks enable %s` resumes it", endpoint.name, streak, error,
                    endpoint.name,
                )  # fmt: skip
                return sent, 1, True
        return sent, 1, False
    return sent, 0, False


def deliver_webhooks(
    settings: Settings, engine: Engine, client: BytesPoster, *, now: datetime
) -> WebhookReport:
    """One run for every configured endpoint: queue new events, send what is due."""
    queued = sent = failed = 0
    disabled: list[str] = []
    for endpoint in settings.webhooks:
        with engine.begin() as conn:
            queued += _fan_out(conn, endpoint, now=now)
        ok, bad, off = _deliver(engine, client, endpoint, settings.webhook_disable_after, now)
        sent += ok
        failed += bad
        if off:
            disabled.append(endpoint.name)
    return WebhookReport(queued, sent, failed, tuple(disabled))


def status(settings: Settings, engine: Engine) -> list[EndpointState]:
    """Per configured endpoint: pending, delivered, failing since, disabled."""
    with engine.connect() as conn:
        return store_webhooks.states(conn, [w.name for w in settings.webhooks])


def enable(settings: Settings, engine: Engine, name: str, *, now: datetime) -> bool:
    """Resume a disabled endpoint; its pending deliveries are due at once. False: no such
    endpoint in the settings."""
    if name not in {w.name for w in settings.webhooks}:
        return False
    with engine.begin() as conn:
        store_webhooks.enable(conn, name, now=now)
    return True
