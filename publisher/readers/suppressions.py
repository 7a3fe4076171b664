"""Suppression-list use cases for the web and CLI handlers: list, add, remove."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from publisher.store import suppressions as store
from publisher.store.suppressions import Suppression
from publisher.store.types import Engine


def list_suppressions(engine: Engine, *, reason: str | None = None) -> list[Suppression]:
    """Every suppressed address, optionally only those with one reason."""
    with engine.connect() as conn:
        return store.list_all(conn, reason=reason)


def suppress(engine: Engine, emails: Iterable[str], *, reason: str, now: datetime) -> int:
    """Suppress addresses in one transaction; how many were newly added."""
    with engine.begin() as conn:
        return store.add(conn, emails, reason=reason, now=now)


def unsuppress_one(engine: Engine, email: str) -> bool:
    """Take an address off the list; False when it was not on it."""
    with engine.begin() as conn:
        return store.remove(conn, email)
