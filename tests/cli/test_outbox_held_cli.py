"""`publisher outbox status` tells rows held through the quiet hours from rows due now (real
SQLite, the CLI's clock injected)."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.app import App
from publisher.cli import app
from publisher.consent.advertising import Rules
from publisher.core.clock import FixedClock
from publisher.core.config import load_settings
from publisher.messages.enqueue import NewMessage, enqueue, store_content
from publisher.store.db import make_engine
from tests.conftest import ROOT
from tests.outboxkit import BODY, demo_cli_store

runner = CliRunner()
# 22:30 in Seoul: inside the default quiet hours (21:00-08:00), which end at 08:00 tomorrow.
NIGHT = datetime.fromisoformat("2026-11-29T22:30:00+09:00")
OPENS = "2026-11-30T08:00:00+09:00"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db, engine = demo_cli_store(tmp_path, monkeypatch)
    monkeypatch.setenv("PUBLISHER_OPS_PORT", "0")  # `publisher status` asks no daemon
    monkeypatch.setenv("PUBLISHER_SCHEDULES_FILE", str(ROOT / "schedules.yaml"))
    held_until = Rules.from_settings(load_settings()).hold_until(NIGHT)
    assert held_until is not None and held_until.isoformat() == OPENS
    with engine.begin() as conn:
        cid = store_content(conn, key="c", kind="digest", body=BODY, now=NIGHT)
        rows = [  # three advertising digests held, two confirmations due now
            NewMessage(f"ad:{i}", "digest", f"ad{i}@example.kr", cid, not_before=held_until)
            for i in range(3)
        ] + [NewMessage(f"c:{i}", "confirm", f"c{i}@example.kr", cid) for i in range(2)]
        enqueue(conn, rows, now=NIGHT, domain="news.example.kr")
    engine.dispose()
    monkeypatch.setattr("publisher.cli.common.App", functools.partial(App, clock=FixedClock(NIGHT)))
    return db


def test_status_says_how_many_are_held_and_until_when(env: str) -> None:
    result = runner.invoke(app, ["outbox", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("queued: 5  ")
    held = "  of the queued: 2 due now, 3 held for quiet hours until 2026-11-30 08:00 (Asia/Seoul)"
    assert held in lines


def test_status_json_has_the_held_rows(env: str) -> None:
    result = runner.invoke(app, ["outbox", "status", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["queued"] == 5  # the per-status counts keep their meaning
    assert doc["queued_due"] == 2
    at = "2026-11-29T23:00:00+00:00"  # 08:00 in Seoul
    assert doc["held"] == {"count": 3, "until": at, "earliest": at}


def test_once_the_window_opens_nothing_is_held(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    later = FixedClock(datetime.fromisoformat(OPENS) + timedelta(minutes=1))
    monkeypatch.setattr("publisher.cli.common.App", functools.partial(App, clock=later))
    result = runner.invoke(app, ["outbox", "status"])
    assert result.exit_code == 0, result.output
    assert "held for quiet hours" not in result.output
    doc = json.loads(runner.invoke(app, ["outbox", "status", "--json"]).stdout)
    assert doc["queued_due"] == 5 and doc["held"] == {"count": 0, "until": None, "earliest": None}


def test_publisher_status_shows_the_held_rows_too(env: str) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["outbox"]["queued"] == 5
    assert doc["held_for_quiet_hours"] == 3 and doc["held_until"] == "2026-11-29T23:00:00Z"
    table = runner.invoke(app, ["status"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    [row] = [line for line in table.output.splitlines() if "held for quiet hours" in line]
    assert "3 until 2026-11-30 08:00" in row  # in the site's time zone (Asia/Seoul)


def test_a_row_postponed_while_the_relay_is_down_is_not_held_for_quiet_hours(env: str) -> None:
    from publisher.messages.enqueue import claim, postpone

    engine = make_engine(env)
    with engine.begin() as conn:
        [item, *_] = [
            i
            for i in claim(conn, owner="d", now=NIGHT, lease=timedelta(minutes=5), limit=5)[0]
            if i.kind == "confirm"
        ]
        reply = "421 4.4.1 cannot connect to relay.example.kr:25"
        postpone(conn, item, reply=reply, now=NIGHT, at=NIGHT + timedelta(minutes=3))
    engine.dispose()
    doc = json.loads(runner.invoke(app, ["outbox", "status", "--json"]).stdout)
    # It stays queued with no attempt used (see the relay-down tests), but it is no hold:
    # before, it was shown as one more row "held for quiet hours" (until 22:33).
    assert doc["queued"] == 4 and doc["held"]["count"] == 3  # (the other confirm is sending)
