"""On PostgreSQL the consent log refuses UPDATE and DELETE too (a trigger of migration 0016)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from publisher.consent.record import Act
from publisher.readers import subscribers as use
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.digestkit import NOW


@pytest.mark.postgres
def test_postgres_refuses_changing_the_log(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    use.add(engine, {"email": "a@example.kr"}, now=NOW, act=Act("api", "k"))
    for sql in ("UPDATE consent_log SET event = 'confirmed'", "DELETE FROM consent_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM consent_log")).scalar_one() == 1
    engine.dispose()
