"""Outbox use cases for the web and CLI handlers: depth and status."""

from __future__ import annotations

from publisher.store.stats import outbox_depth as _outbox_depth
from publisher.store.types import Engine


def outbox_depth(engine: Engine) -> dict[str, int]:
    """Outbox rows per status."""
    with engine.connect() as conn:
        return _outbox_depth(conn)
