"""Migration 0008 on a database written before it: letter-case twins fold into one mailbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Integer, String, column, insert, select, table

from publisher.store import migrate
from publisher.store import subscribers as store_subscribers
from publisher.store.db import UTCDateTime, make_engine
from publisher.store.outbox import suppressions_for
from publisher.store.schema import subscribers, subscriptions, suppressions

T = datetime(2026, 11, 1, tzinfo=UTC)
# subscribers as the revision before 0008 has it (no email_key, no pending request).
OLD_SUBSCRIBERS = table(
    "subscribers", column("id", Integer), column("email", String), column("name", String),
    column("status", String), column("frequency", String), column("created_at", UTCDateTime()),
    column("confirmed_at", UTCDateTime()), column("unsubscribed_at", UTCDateTime()),
)  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store at the revision just before 0008 (whatever the chain is after merging)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    eng = make_engine(url)
    cfg = migrate._config()
    before = ScriptDirectory.from_config(cfg).get_revision("0008").down_revision
    assert isinstance(before, str)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
    yield eng
    eng.dispose()


def _subscriber(conn: Connection, email: str, status: str, *, days: int, name: str) -> int:
    at = T + timedelta(days=days)
    return int(
        conn.execute(
            insert(OLD_SUBSCRIBERS)
            .returning(OLD_SUBSCRIBERS.c.id)
            .values(
                email=email,
                name=name,
                status=status,
                frequency="daily",
                created_at=at,
                confirmed_at=at if status != "pending" else None,
                unsubscribed_at=at + timedelta(hours=1) if status == "unsubscribed" else None,
            )
        ).scalar_one()
    )


def _old_rows(engine: Engine) -> dict[str, int]:
    """Rows as the old code wrote them: keyed by the address as typed."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for email, status, days, name in [
            ("Victim@example.kr", "confirmed", 1, "old"),
            ("victim@example.kr", "unsubscribed", 2, "unsub"),
            ("VICTIM@example.kr", "confirmed", 3, "newest"),
            ("Twin@example.kr", "pending", 1, "first"),
            ("twin@example.kr", "confirmed", 2, "confirmed"),
            ("Solo@Example.kr", "confirmed", 1, "solo"),
        ]:
            ids[email] = _subscriber(conn, email, status, days=days, name=name)
        conn.execute(
            insert(subscriptions),
            [{"subscriber_id": ids["twin@example.kr"], "section": "politics"},
             {"subscriber_id": ids["Twin@example.kr"], "section": "world"}],
        )  # fmt: skip
        conn.execute(
            insert(suppressions),
            [
                {"email": "victim@example.kr", "scope": "all", "reason": "unsubscribed",
                 "detail": "", "created_at": T},
                {"email": "Mixed@example.kr", "scope": "all", "reason": "unsubscribed",
                 "detail": "", "created_at": T},
                {"email": "mixed@example.kr", "scope": "all", "reason": "hard_bounce",
                 "detail": "550", "created_at": T + timedelta(days=1)},
                {"email": "Blocker@example.kr", "scope": "share", "reason": "share_block",
                 "detail": "", "created_at": T},
            ],
        )  # fmt: skip
    return ids


def test_migration_folds_case_twins_and_unsubscribed_wins(old_engine: Engine) -> None:
    ids = _old_rows(old_engine)
    migrate.upgrade(old_engine)
    with old_engine.begin() as conn:
        rows = {r.email_key: r for r in conn.execute(select(subscribers))}
        assert set(rows) == {"victim@example.kr", "twin@example.kr", "solo@example.kr"}
        victim = rows["victim@example.kr"]
        assert victim.status == "unsubscribed" and victim.name == "unsub"  # unsubscribed wins
        assert victim.created_at == T + timedelta(days=1)  # the earliest sign-up is kept
        twin = rows["twin@example.kr"]
        assert twin.status == "confirmed" and twin.email == "twin@example.kr"
        assert store_subscribers.get_by_email(conn, "TWIN@example.kr") is not None
        assert store_subscribers.get_by_email(conn, "twin@example.kr").sections == ("politics",)  # type: ignore[union-attr]
        assert rows["solo@example.kr"].email == "Solo@Example.kr"  # shown and mailed as typed

        # Links already mailed for a merged-away id still reach the merged row.
        merged = store_subscribers.subscriber_by_id(conn, ids["VICTIM@example.kr"], issued=None)
        assert merged is not None and merged.id == victim.id

        listed = {(r.email, r.scope): r.reason for r in conn.execute(select(suppressions))}
        assert listed == {
            ("victim@example.kr", "all"): "unsubscribed",
            ("mixed@example.kr", "all"): "hard_bounce",  # the stricter entry is kept
            ("blocker@example.kr", "share"): "share_block",
        }
        assert suppressions_for(conn, ["MIXED@example.kr"]) == {
            "mixed@example.kr": {("all", "hard_bounce")}
        }
        assert [r.email for r in store_subscribers.recipients(conn, frequency="daily")] == [
            "twin@example.kr", "Solo@Example.kr",
        ]  # fmt: skip
    assert migrate.upgrade(old_engine)[0] == migrate.head_revision()  # a second run: no-op


def test_downgrade_and_upgrade_again_keep_sections(old_engine: Engine) -> None:
    _old_rows(old_engine)
    migrate.upgrade(old_engine)
    cfg = migrate._config()
    before = ScriptDirectory.from_config(cfg).get_revision("0008").down_revision
    with old_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, str(before))
    migrate.upgrade(old_engine)
    with old_engine.connect() as conn:
        who = store_subscribers.get_by_email(conn, "Twin@example.kr")
    assert who is not None and who.sections == ("politics",)
