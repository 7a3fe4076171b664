"""Event-log use cases. ``record_event`` is what other packages call (the inbound mail for
``bounce`` and ``complaint``): in their own transaction when they have one open (pass
``conn``), else in a transaction of its own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from publisher.core.vocab import EventType
from publisher.store import events as store_events
from publisher.store.events import Event
from publisher.store.types import Connection, Engine

__all__ = ["Event", "recent_events", "record_event"]


def record_event(
    where: Engine | Connection,
    event_type: EventType,
    subject: str,
    data: Mapping[str, Any],
    *,
    now: datetime,
) -> str:
    """Append an event (stable id returned: ``evt_…``, the webhook-id receivers dedupe on).

    ``where`` is a Connection inside the caller's transaction (preferred: the event then
    exists exactly when the change does) or an Engine (a transaction of its own)."""
    if isinstance(where, Connection):
        return store_events.record_event(where, event_type, subject, data, now=now)
    with where.begin() as conn:
        return store_events.record_event(conn, event_type, subject, data, now=now)


def recent_events(engine: Engine, *, limit: int = 50) -> list[Event]:
    """The newest events first."""
    with engine.connect() as conn:
        return store_events.recent_events(conn, limit=limit)
