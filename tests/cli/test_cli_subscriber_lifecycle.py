"""Imported lists are kept until asked to confirm; a removed reader gets nothing already queued."""

from __future__ import annotations

import asyncio
import email as email_lib
import email.policy
import functools
import json
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from publisher.app import App
from publisher.cli import app
from publisher.core.clock import FixedClock, SystemClock
from publisher.core.config import load_settings
from publisher.daemon.jobtable import JobTable
from publisher.messages.enqueue import fill as personalise
from publisher.readers import signup
from publisher.store.db import make_engine
from tests.digestkit import NOW, cli_store
from tests.smtpserver import ThreadedServer

runner = CliRunner()
READERS = ["kim@example.kr", "lee@example.kr", "park@example.kr"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_store(tmp_path, monkeypatch)


def _csv(tmp_path: Path, status: str = "pending") -> Path:
    path = tmp_path / "list.csv"
    rows = "".join(f"{e},,,daily,{status}\n" for e in READERS)
    path.write_text("email,name,sections,frequency,status\n" + rows, encoding="utf-8")
    return path


def _app_at(at: datetime) -> Callable[..., App]:
    """What open_app builds, with the test's clock instead of the system's."""
    return functools.partial(App, clock=FixedClock(at))


def _cleanup_after(days: int) -> None:
    """The daemon's nightly cleanup job, ``days`` from now (imports use the system clock)."""
    clock = FixedClock(SystemClock().now() + timedelta(days=days))
    runtime = JobTable(App(settings=load_settings(), clock=clock))
    try:
        asyncio.run(runtime.cleanup())
    finally:
        runtime.app.close()


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """sqlite3 rows: their values' types are the columns', unknown to the type checker."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_import_says_what_happens_to_pending_rows_and_cleanup_keeps_them(
    env: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["subscribers", "import", str(_csv(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "pending 3: they get no mail until they confirm, and nothing was sent" in result.output
    assert "--send-confirmation" in result.output
    assert _rows(env, "SELECT count(*) FROM outbox") == [(0,)]
    _cleanup_after(days=8)
    assert sorted(e for (e,) in _rows(env, "SELECT email FROM subscribers")) == READERS


def test_send_confirmation_queues_one_per_pending_row_and_then_cleanup_may_forget(
    env: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["subscribers", "import", str(_csv(tmp_path)), "--send-confirmation"]
    )
    assert result.exit_code == 0, result.output
    assert "pending 3: queued 3 confirmation mails" in result.output
    queued = _rows(env, "SELECT kind, recipient, status FROM outbox ORDER BY recipient")
    assert queued == [("confirm", e, "queued") for e in READERS]
    _reader_confirms(env, "park@example.kr")
    again = runner.invoke(
        app, ["subscribers", "import", str(_csv(tmp_path)), "--send-confirmation"]
    )
    # park confirmed (and stays confirmed); the other two were asked once already.
    assert "pending 2: queued 0 confirmation mails (sent at the delivery rate), 2 asked before" in (
        again.output
    )
    assert _rows(env, "SELECT count(*) FROM outbox") == [(3,)]
    _cleanup_after(days=6)
    assert len(_rows(env, "SELECT email FROM subscribers WHERE status = 'pending'")) == 2
    # Asked and never answered: after the pending period the cleanup forgets them.
    _cleanup_after(days=8)
    assert _rows(env, "SELECT email FROM subscribers") == [("park@example.kr",)]


def _reader_confirms(db: Path, address: str) -> None:
    """Open the reader's message as they would get it and follow its confirmation link."""
    ((body, subs),) = _rows(
        db, "SELECT c.body, o.substitutions FROM outbox o JOIN contents c ON c.id = o.content_id "
        f"WHERE o.recipient = '{address}'",
    )  # fmt: skip
    raw = personalise(bytes(body), json.loads(subs), "<m@news.example.kr>")
    msg = email_lib.message_from_bytes(raw, policy=email_lib.policy.default)
    assert msg["To"].addresses[0].addr_spec == address
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/confirm/([A-Za-z0-9._-]+)", text)
    assert token is not None and "%%" not in text, text
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        assert signup.confirm(engine, settings.secret_key, token.group(1), now=SystemClock().now())
    finally:
        engine.dispose()
    status = _rows(db, f"SELECT status FROM subscribers WHERE email = '{address}'")
    assert status == [("confirmed",)]


def test_remove_cancels_queued_digest_and_nothing_reaches_the_relay(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for e in READERS[:2]:
        assert runner.invoke(app, ["subscribers", "add", e]).exit_code == 0
    # The test clock: a run queues its mail at the clock's now (its expiry counts from then).
    monkeypatch.setattr("publisher.cli.common.App", _app_at(NOW))
    run = runner.invoke(app, ["digest", "run", "morning", "--at", NOW.isoformat()])
    assert "enqueued 2" in run.output, run.output
    removed = runner.invoke(app, ["subscribers", "remove", "kim@example.kr"])
    assert removed.exit_code == 0, removed.output
    assert "cancelled 1 queued messages" in removed.output
    with ThreadedServer() as sink:
        monkeypatch.setenv("PUBLISHER_SMTP_URL", sink.url)
        monkeypatch.setenv("PUBLISHER_DELIVERY_RATE", "0")
        # Still the test clock of the run above: the rows are due at NOW.
        done = runner.invoke(app, ["deliver", "--until-empty"])
        assert done.exit_code == 0, done.output
        received = sink.server.record.recipients()
    assert dict(received) == {"lee@example.kr": 1}
    statuses = dict(_rows(env, "SELECT recipient, status FROM outbox"))
    assert statuses == {"kim@example.kr": "suppressed", "lee@example.kr": "sent"}


def test_an_import_never_turns_a_confirmed_reader_back_to_pending(
    env: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["subscribers", "add", "lee@example.kr"]).exit_code == 0
    result = runner.invoke(app, ["subscribers", "import", str(_csv(tmp_path))])
    assert "pending 2:" in result.output, result.output
    listed = runner.invoke(app, ["subscribers", "list", "--status", "confirmed"]).output
    assert listed.startswith("lee@example.kr\t")
