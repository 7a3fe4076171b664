"""Cleanup forgets unanswered sign-ups, never an imported row nobody asked (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select

from publisher.store import cleanup
from publisher.store.schema import contents, outbox, subscribers

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _days(n: int) -> datetime:
    return NOW - timedelta(days=n)


def test_purge_keeps_imported_rows_until_they_were_asked(any_engine: Engine) -> None:
    rows = [  # email, origin, created days ago, asked by an import days ago
        ("signup-old@x.kr", "signup", 8, None),
        ("signup-new@x.kr", "signup", 2, None),
        ("import-never-asked@x.kr", "import", 400, None),
        ("import-asked-long-ago@x.kr", "import", 400, 8),
        ("import-asked-lately@x.kr", "import", 400, 2),
        ("import-then-form@x.kr", "import", 400, None),  # asked through the sign-up form
    ]
    with any_engine.begin() as conn:
        for email, origin, created, asked in rows:
            conn.execute(
                insert(subscribers).values(
                    email=email, name="", status="pending", frequency="daily", origin=origin,
                    created_at=_days(created),
                    confirm_asked_at=None if asked is None else _days(asked),
                )
            )  # fmt: skip
        cid = conn.execute(
            insert(contents).values(key="c", kind="confirm", body=b"x", created_at=_days(9))
        ).inserted_primary_key
        assert cid is not None
        conn.execute(
            insert(outbox).values(
                dedupe_key="confirm:1", kind="confirm", recipient="import-then-form@x.kr",
                content_id=cid[0], substitutions="{}", status="sent", next_attempt_at=_days(9),
                expires_at=_days(6), message_id="<m@x.kr>", created_at=_days(9),
                updated_at=_days(9),
            )
        )  # fmt: skip
        purged = cleanup.purge_pending_subscribers(conn, before=_days(7))
        left = {str(e) for e in conn.execute(select(subscribers.c.email)).scalars()}
    assert purged == 3
    assert left == {"signup-new@x.kr", "import-never-asked@x.kr", "import-asked-lately@x.kr"}


def test_migration_takes_pending_rows_nobody_asked_as_imported(tmp_path: Path) -> None:
    from alembic import command

    from publisher.store.db import make_engine
    from publisher.store.migrate import _config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    with engine.begin() as conn:
        for email in ("asked@x.kr", "imported@x.kr"):
            conn.exec_driver_sql(
                "INSERT INTO subscribers (email, name, status, frequency, created_at) "
                f"VALUES ('{email}', '', 'pending', 'daily', '2026-01-01 00:00:00')"
            )
        conn.exec_driver_sql(
            "INSERT INTO contents (key, kind, body, created_at) "
            "VALUES ('c', 'confirm', x'00', '2026-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO outbox (dedupe_key, kind, recipient, content_id, substitutions, status,"
            " attempts, next_attempt_at, expires_at, message_id, created_at, updated_at) VALUES"
            " ('k', 'confirm', 'asked@x.kr', 1, '{}', 'sent', 1, '2026-01-01', '2026-01-02',"
            " '<m@x>', '2026-01-01', '2026-01-01')"
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(subscribers.c.email, subscribers.c.origin))
        origins = {email: origin for email, origin in rows}
    engine.dispose()
    assert origins == {"asked@x.kr": "signup", "imported@x.kr": "import"}
