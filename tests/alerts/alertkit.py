"""Readers for the alert tests: who opted in, and the outbox rows of alerts."""

from __future__ import annotations

from sqlalchemy import Engine

from publisher.readers import signup
from tests.digestkit import add_subscriber


def reader(engine: Engine, email: str, *, alerts: bool, **kw: object) -> int:
    sid = add_subscriber(engine, email, **kw)  # type: ignore[arg-type]
    if alerts:
        signup.set_alerts(engine, sid, on=True)
    return sid
