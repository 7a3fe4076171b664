"""The delivery commands end to end: deliver into a Maildir, status, retry, purge, suppressions."""

from __future__ import annotations

import json
import mailbox
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.clock import SystemClock
from publisher.store.db import make_engine
from publisher.store.schema import outbox
from tests.outboxkit import demo_cli_store, fill, statuses

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db, engine = demo_cli_store(tmp_path, monkeypatch)
    monkeypatch.setenv("PUBLISHER_DELIVERY_RATE", "0")
    fill(engine, SystemClock(), 5)
    engine.dispose()
    return db


def test_deliver_then_status_json(env: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["deliver", "--until-empty"])
    assert result.exit_code == 0, result.output
    assert "sent 5" in result.output
    assert len(mailbox.Maildir(tmp_path / "mail", create=False)) == 5
    status = runner.invoke(app, ["outbox", "status", "--json"])
    doc = json.loads(status.stdout)
    assert doc["sent"] == 5 and doc["queued"] == 0
    assert doc["by_kind"] == {"digest": {"sent": 5}}


def test_retry_failed_and_purge(env: str) -> None:
    engine = make_engine(env)
    with engine.begin() as conn:
        conn.execute(update(outbox).values(status="failed", last_reply="554 5.6.0 refused"))
    assert runner.invoke(app, ["outbox", "retry"]).exit_code == 2  # --failed is required
    result = runner.invoke(app, ["outbox", "retry", "--failed", "--kind", "digest"])
    assert result.exit_code == 0 and "5 failed" in result.output
    assert statuses(engine) == {"queued": 5}
    assert runner.invoke(app, ["deliver", "--until-empty"]).exit_code == 0
    assert runner.invoke(app, ["outbox", "purge", "--older-than", "1x"]).exit_code == 2
    old = SystemClock().now() - timedelta(days=40)
    with engine.begin() as conn:
        conn.execute(update(outbox).values(updated_at=old))
    result = runner.invoke(app, ["outbox", "purge", "--older-than", "30d"])
    assert result.exit_code == 0 and "purged 5 row(s)" in result.output
    assert statuses(engine) == {}
    engine.dispose()


def test_suppressions_commands(env: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("a@example.kr\nnot an address\n", "utf-8")
    result = runner.invoke(app, ["suppressions", "import", str(bad)])
    assert result.exit_code == 1 and "bad.txt:2" in result.output
    listed = runner.invoke(app, ["suppressions", "list", "--json"])
    assert json.loads(listed.stdout) == []  # nothing half-imported
    good = tmp_path / "good.csv"
    good.write_text("email,name\nuser1@example.kr,x\n# comment\nUSER2@example.kr\n", "utf-8")
    assert runner.invoke(app, ["suppressions", "import", str(good)]).exit_code == 0
    assert runner.invoke(app, ["suppressions", "add", "user3@example.kr"]).exit_code == 0
    assert runner.invoke(app, ["suppressions", "remove", "user3@example.kr"]).exit_code == 0
    assert runner.invoke(app, ["suppressions", "remove", "user3@example.kr"]).exit_code == 1
    emails = [
        s["email"]
        for s in json.loads(runner.invoke(app, ["suppressions", "list", "--json"]).stdout)
    ]
    assert sorted(emails) == ["user1@example.kr", "user2@example.kr"]
    result = runner.invoke(app, ["deliver", "--until-empty"])
    assert "sent 3" in result.output and "skipped 2" in result.output


def test_max_seconds_stops_a_slow_drain_cleanly(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_DELIVERY_RATE", "1")  # 5 rows take over four seconds
    result = runner.invoke(app, ["deliver", "--max-seconds", "0.5"])
    assert result.exit_code == 0, result.output
    engine = make_engine(env)
    counts = statuses(engine)
    engine.dispose()
    # Stopped before the end, nothing left claimed. How many went before the deadline depends
    # on how long the session took to open on a busy machine (none, in a slow CI run).
    assert "sending" not in counts
    sent = counts.get("sent", 0)
    assert sent < 5 and counts["queued"] == 5 - sent


def test_reconfirmations_are_counted_and_retried_as_their_own_kind(env: str) -> None:
    engine = make_engine(env)
    fill(engine, SystemClock(), 2, kind="reconfirm")
    doc = json.loads(runner.invoke(app, ["outbox", "status", "--json"]).stdout)
    assert doc["by_kind"] == {"digest": {"queued": 5}, "reconfirm": {"queued": 2}}
    text = runner.invoke(app, ["outbox", "status"]).output
    assert "  reconfirm: queued 2" in text.splitlines()
    with engine.begin() as conn:
        conn.execute(update(outbox).values(status="failed"))
    result = runner.invoke(app, ["outbox", "retry", "--failed", "--kind", "reconfirm"])
    assert result.exit_code == 0 and "2 failed" in result.output, result.output
    assert statuses(engine) == {"failed": 5, "queued": 2}
    engine.dispose()
