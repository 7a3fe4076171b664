"""An outbox with messages, and what became of them: shared by delivery, CLI and soak tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from publisher.core.clock import Clock
from publisher.core.vocab import OutboxKind
from publisher.messages.enqueue import Claimed, NewMessage, enqueue, store_content
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from publisher.store.schema import outbox, suppressions

BODY = (
    b"From: news@news.example.kr\r\nTo: %%TO%%\r\nSubject: =?utf-8?b?7ZWc67mb?=\r\n"
    b"Message-ID: %%MESSAGE_ID%%\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    + "안녕하세요 %%NAME%%\r\n".encode()
    + b".a line that starts with a dot\r\n"
    + b"x" * 900
    + b"\r\nUnsubscribe: %%UNSUBSCRIBE_URL%%\r\n"
)


def demo_cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Engine]:
    """A migrated SQLite store and the environment a CLI test of the outbox runs in (demo
    settings, mail to a Maildir): the store's URL and an engine on it (dispose it after)."""
    db = f"sqlite:///{tmp_path / 'p.db'}"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", db)
    monkeypatch.setenv("PUBLISHER_SMTP_URL", f"maildir://{tmp_path / 'mail'}")
    monkeypatch.setenv("PUBLISHER_DEMO", "true")
    engine = make_engine(db)
    upgrade(engine)
    return db, engine


def fill(
    engine: Engine,
    clock: Clock,
    n: int,
    *,
    kind: OutboxKind = "digest",
    domain: str = "example.kr",
    expires_in: timedelta = timedelta(hours=24),
) -> None:
    with engine.begin() as conn:
        cid = store_content(conn, key=f"{kind}:v1", kind=kind, body=BODY, now=clock.now())
        enqueue(conn, [
            NewMessage(dedupe_key=f"{kind}:run1:subscriber:{i}", kind=kind,
                       recipient=f"user{i}@{domain}", content_id=cid,
                       substitutions={"%%TO%%": f"user{i}@{domain}", "%%NAME%%": f"독자{i}",
                                      "%%UNSUBSCRIBE_URL%%": f"https://news.example.kr/u/{i}"},
                       expires_in=expires_in)
            for i in range(n)
        ], now=clock.now(), domain="news.example.kr")  # fmt: skip


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        out: dict[str, int] = {}
        for (s,) in conn.execute(select(outbox.c.status)):
            out[s] = out.get(s, 0) + 1
        return out


def suppressed(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        q = select(suppressions.c.email, suppressions.c.reason)
        return [(e, r) for e, r in conn.execute(q)]


def claimed_item(**subs: str) -> Claimed:
    """One leased digest row with these substitutions, for personalising without a store."""
    return Claimed(
        id=1, kind="digest", recipient="a@b.kr", content_id=1, substitutions=subs,
        message_id="<m1@news.example.kr>", attempts=1,
        expires_at=datetime(2026, 11, 24, tzinfo=UTC),
    )  # fmt: skip


def migrate_to(engine: Engine, action: str, revision: str) -> None:
    """``alembic upgrade|downgrade <revision>`` on ``engine``, as the migration tests step."""
    from alembic import command
    from alembic.config import Config

    from publisher.store.migrate import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def outbox_indexes(engine: Engine) -> set[str]:
    """The outbox's index names, expression indexes too (SQLAlchemy's inspector skips those
    on SQLite)."""
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'"
    )
    with engine.connect() as conn:
        return {str(n) for (n,) in conn.exec_driver_sql(sql)}
