"""`publisher alerts preview|send|history` as an editor types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.store.db import make_engine
from tests.alerts.alertkit import reader
from tests.digestkit import cli_store

runner = CliRunner()


def test_preview_send_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = cli_store(tmp_path, monkeypatch)
    engine = make_engine(f"sqlite:///{db}")
    reader(engine, "kim@example.kr", alerts=True)
    reader(engine, "lee@example.kr", alerts=False)
    engine.dispose()
    eml = tmp_path / "alert.eml"
    pv = runner.invoke(app, ["alerts", "preview", "a0001", "--eml", str(eml)])
    assert pv.exit_code == 0, pv.output
    assert "subject: [속보] 정치 기사 1번" in pv.output and "recipients: 1" in pv.output
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.read_bytes()
    text = runner.invoke(app, ["alerts", "preview", "a0001"])
    assert "속보 알림 그만 받기" in text.output
    sent = runner.invoke(app, ["alerts", "send", "a0001", "--by", "편집국"])
    assert sent.exit_code == 0 and "enqueued 1 for 1 readers (alert 1 today)" in sent.output
    again = runner.invoke(app, ["alerts", "send", "a0001"])
    assert again.exit_code == 1 and "already had its alert" in again.output
    unknown = runner.invoke(app, ["alerts", "send", "nope"])
    assert unknown.exit_code == 1 and "no article 'nope'" in unknown.output
    hist = runner.invoke(app, ["alerts", "history"])
    line = hist.output.splitlines()[1].split("\t")
    assert line[3:8] == ["sent", "1", "a0001", "1", "0"] and line[11] == "편집국"
    assert hist.output.splitlines()[0].split("\t")[9:11] == ["clicks", "machine clicks"]
    assert line[9:11] == ["0", "0"]


def test_a_test_copy_is_not_the_alert(engine: Engine, settings: Settings) -> None:
    from publisher.alerts import send as alerts
    from tests.digestkit import NOW, load_store
    from tests.webkit import outbox_rows

    load_store(engine)
    assert alerts.send_test(engine, settings, "a0001", to="editor@example.kr", now=NOW) == 1
    rows = outbox_rows(engine)
    assert [(r["kind"], r["recipient"]) for r in rows] == [("test", "editor@example.kr")]
    assert alerts.history(engine) == []  # no slot taken: the real alert can still go
    assert alerts.send(engine, settings, "a0001", by="desk", now=NOW).slot == 1
