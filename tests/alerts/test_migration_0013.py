"""Migration 0013 on a database written before it: readers keep their sections and are not
signed up for alerts; old runs keep their history; articles are not breaking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from publisher.store import migrate
from publisher.store import subscribers as store_subscribers
from publisher.store.db import make_engine

T = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_existing_readers_are_off_and_keep_their_choice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    eng: Engine = make_engine(url)
    cfg = migrate._config()
    before = ScriptDirectory.from_config(cfg).get_revision("0013").down_revision
    assert isinstance(before, str)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (id, email, email_key, name, status, frequency, "
                "created_at, origin) VALUES (1, 'kim@example.kr', 'kim@example.kr', '김', "
                "'confirmed', 'daily', :t, 'signup')"
            ),
            {"t": T},
        )
        conn.execute(text("INSERT INTO subscriptions VALUES (1, 'politics')"))
    migrate.upgrade(eng)
    with eng.connect() as conn:
        who = store_subscribers.get_by_email(conn, "kim@example.kr")
        assert who is not None and who.alerts is False and who.sections == ("politics",)
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar() == 0
    eng.dispose()
