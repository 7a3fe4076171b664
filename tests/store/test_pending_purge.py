"""Cleanup forgets unanswered sign-ups and imported rows whose ask went unanswered, never an
imported row nobody asked (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, select

from publisher.core.config import Settings
from publisher.messages import fanout
from publisher.readers import signup
from publisher.store import cleanup, pending
from publisher.store.schema import contents, outbox, subscribers
from tests.digestkit import load_store
from tests.outboxkit import migrate_to
from tests.webkit import outbox_rows

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _days(n: int) -> datetime:
    return NOW - timedelta(days=n)


def _pending(conn: Connection, email: str, origin: str, created: int, asked: int | None) -> int:
    got = conn.execute(
        insert(subscribers).values(
            email=email, name="", status="pending", frequency="daily", origin=origin,
            created_at=_days(created), confirm_asked_at=None if asked is None else _days(asked),
        )
    ).inserted_primary_key  # fmt: skip
    assert got is not None
    return int(got[0])


def test_purge_keeps_imported_rows_until_they_were_asked(any_engine: Engine) -> None:
    rows = [  # email, origin, created days ago, asked to confirm days ago
        ("signup-old@x.kr", "signup", 8, None),
        ("signup-new@x.kr", "signup", 2, None),
        ("import-never-asked@x.kr", "import", 400, None),
        ("import-asked-long-ago@x.kr", "import", 400, 8),
        ("import-asked-lately@x.kr", "import", 400, 2),
    ]
    with any_engine.begin() as conn:
        for row in rows:
            _pending(conn, *row)
        with _statements(any_engine) as seen:
            purged = cleanup.purge_pending_subscribers(conn, before=_days(7))
        left = {str(e) for e in conn.execute(select(subscribers.c.email)).scalars()}
    assert purged == 2
    assert left == {"signup-new@x.kr", "import-never-asked@x.kr", "import-asked-lately@x.kr"}
    assert not [s for s in seen if "outbox" in s]  # the nightly purge reads no outbox


def test_an_imported_reader_asked_through_the_form_is_forgotten_when_it_goes_unanswered(
    any_engine: Engine, settings: Settings
) -> None:
    """Whatever the address's form: the outbox holds an IDN domain in punycode."""
    load_store(any_engine)
    with any_engine.begin() as conn:
        for email in ("minji@한국.kr", "Junho@Example.kr"):
            _pending(conn, email, "import", 400, None)
    identity = fanout.Identity.from_settings(settings)
    mail = signup.ConfirmMail.render(identity, fanout.renderer_for(settings), "ko")
    for email in ("minji@한국.kr", "junho@example.kr"):
        assert signup.subscribe(
            any_engine, identity, mail, email=email, name="", sections=[], frequency="daily",
            language="ko", now=NOW, cap_per_day=3,
        )  # fmt: skip
    assert "minji@xn--3e0b707e.kr" in {r["recipient"] for r in outbox_rows(any_engine)}
    with any_engine.begin() as conn:
        assert cleanup.purge_pending_subscribers(conn, before=NOW) == 0  # asked just now
        # An import's "ask to confirm" does not ask them again.
        assert pending.unasked(conn, ["minji@한국.kr", "Junho@Example.kr"]) == []
    with any_engine.begin() as conn:
        assert cleanup.purge_pending_subscribers(conn, before=NOW + timedelta(seconds=1)) == 2


def test_0022_marks_the_imported_rows_the_form_asked_before(any_engine: Engine) -> None:
    migrate_to(any_engine, "downgrade", "0021")
    with any_engine.begin() as conn:
        ids = {  # email: days ago an import asked (None: never)
            email: _pending(conn, email, "import", 400, asked)
            for email, asked in (("minji@한국.kr", None), ("reused@x.kr", None),
                                 ("never@x.kr", None), ("import-then-form@x.kr", 9),
                                 ("form-then-import@x.kr", 1))
        }  # fmt: skip
        cid = conn.execute(
            insert(contents).values(key="c", kind="confirm", body=b"x", created_at=_days(9))
        ).inserted_primary_key
        assert cid is not None
        for n, (sid, recipient, days) in enumerate([
            (ids["minji@한국.kr"], "minji@xn--3e0b707e.kr", 5),
            (ids["minji@한국.kr"], "minji@xn--3e0b707e.kr", 2),  # asked again: the last counts
            (ids["minji@한국.kr"], "Minji@XN--3E0B707E.kr", 6),  # whatever the order and case
            (ids["reused@x.kr"], "somebody.else@x.kr", 3),  # the id of a row deleted since
            (ids["import-then-form@x.kr"], "import-then-form@x.kr", 4),
            (ids["form-then-import@x.kr"], "form-then-import@x.kr", 4),
        ]):  # fmt: skip
            conn.execute(
                insert(outbox).values(
                    dedupe_key=f"confirm:{sid}:{n}", kind="confirm", recipient=recipient,
                    content_id=cid[0], substitutions="{}", status="sent",
                    next_attempt_at=_days(days), expires_at=_days(days - 3),
                    message_id=f"<m{n}@x.kr>", created_at=_days(days), updated_at=_days(days),
                )
            )  # fmt: skip
    migrate_to(any_engine, "upgrade", "head")
    with any_engine.connect() as conn:
        q = select(subscribers.c.email, subscribers.c.confirm_asked_at)
        asked = {str(e): a for e, a in conn.execute(q)}
    assert asked == {
        "minji@한국.kr": _days(2), "reused@x.kr": None, "never@x.kr": None,
        "import-then-form@x.kr": _days(4), "form-then-import@x.kr": _days(1),
    }  # fmt: skip


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def grab(_c: Any, _cur: Any, stmt: str, *_rest: Any) -> None:
        seen.append(stmt)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


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
