"""On PostgreSQL too, the same export imported twice is logged once (the source's dates, to
the microsecond, are compared as the log gives them back)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from publisher.consent.record import Act
from publisher.core.vocab import ImportSource
from publisher.readers import moving
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.digestkit import NOW

EXPORTS = Path(__file__).resolve().parents[1] / "consent" / "exports"
FILES: list[tuple[ImportSource, str]] = [
    ("listmonk", "listmonk.csv"),  # created_at with microseconds and a +09:00 offset
    ("mailchimp", "mailchimp_subscribed.csv"),
    ("ghost", "ghost.csv"),
]


@pytest.mark.postgres
def test_postgres_reimport_adds_no_consent_row(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    act = Act("import", "test-secret-key-0123456789")

    def rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM consent_log")).scalar_one())

    for tool, name in FILES:
        moving.move_in(engine, EXPORTS / name, tool, now=NOW, act=act)
    first = rows()
    for tool, name in FILES:
        moving.move_in(engine, EXPORTS / name, tool, now=NOW, act=act)
    assert rows() == first == 10
    engine.dispose()
