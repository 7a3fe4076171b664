"""`publisher status`: schedules, outbox, digest runs, sources, suppressions; tables or JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import load_settings
from publisher.digests import pipeline
from publisher.intake.polling import run_collect
from publisher.store import subscribers as store_subscribers
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.conftest import ROOT
from tests.digestkit import NOW, SCHEDULES, add_subscriber, load_store, schedules
from tests.intake.sources.kit import jsonl, obj, touch

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_text(jsonl(obj(1), obj(2)), encoding="utf-8")
    touch(drop / "a.jsonl", NOW - timedelta(minutes=1))
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    sources = [
        {"kind": "folder", "name": "drop", "path": str(drop)},
        {"kind": "folder", "name": "gone", "path": str(tmp_path / "missing")},
        {"kind": "feed", "name": "later", "url": "https://cms.example.kr/rss"},
    ]
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "TEMPLATES_DIR": str(ROOT / "templates"),
        "SCHEDULES_FILE": str(tmp_path / "schedules.yaml"), "SOURCES": json.dumps(sources),
        "SECRET_KEY": "test-secret-key-0123456789", "FROM_ADDRESS": "news@news.example.kr",
        "PUBLIC_BASE_URL": "https://news.example.kr/newsletter",
    }  # fmt: skip
    for k, v in values.items():
        monkeypatch.setenv(f"PUBLISHER_{k}", v)
    settings = load_settings()
    # Only the two folders are polled here; "later" stays never polled.
    polled = settings.model_copy(update={"sources": settings.sources[:2]})
    eng = make_engine(settings.database_url)
    upgrade(eng)
    load_store(eng)
    add_subscriber(eng, "kim@example.kr")
    add_subscriber(eng, "lee@example.kr")
    run_collect(polled, eng, now=NOW)
    assert pipeline.run_digest(eng, settings, schedules(), "morning", now=NOW).status == "enqueued"
    with eng.begin() as conn:
        store_subscribers.suppress(conn, email="x@example.kr", reason="hard_bounce", now=NOW)
        store_subscribers.suppress(conn, email="y@example.kr", reason="hard_bounce", now=NOW)
        store_subscribers.suppress(conn, email="z@example.kr", reason="unsubscribed", now=NOW)
    eng.dispose()
    return tmp_path


def test_status_json(env: Path) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {s["job"]: s for s in data["schedules"]}
    assert list(rows) == ["digest:morning", "digest:weekly", "collect", "feeds", "deliver",
                          "cleanup", "reconfirm", "inbound"]  # fmt: skip
    morning = rows["digest:morning"]
    assert morning["timing"] == "cron 0 7 * * *" and morning["last_result"] == "enqueued"
    assert morning["last_run"] == "2026-11-23T22:00:30Z"
    assert morning["next_run"].endswith("T22:00:00Z")  # 07:00 in Seoul
    assert rows["digest:weekly"]["next_run"].endswith("T23:00:00Z")  # Monday 08:00 in Seoul
    assert rows["collect"]["last_run"] == "2026-11-23T22:00:30Z"
    assert rows["collect"]["last_result"] == "1 source(s) failing"
    assert rows["feeds"]["last_run"] is None and rows["feeds"]["next_run"] is not None
    assert data["outbox"] == {"queued": 2}
    assert data["oldest_queued"] == "2026-11-23T22:00:30Z"
    [run] = data["runs"]
    assert (run["digest_id"], run["status"], run["recipients"]) == ("morning", "enqueued", 2)
    assert run["outbox"] == {"queued": 2}
    sources = {s["name"]: s for s in data["sources"]}
    assert sources["drop"]["state"] == "ok" and sources["drop"]["last_result"].startswith(
        "added 2,"
    )
    assert sources["gone"]["state"] == "failing" and sources["gone"]["failures"] == 1
    assert "folder not found" in sources["gone"]["last_error"]
    assert sources["gone"]["next_attempt"] == "2026-11-23T22:01:30Z"
    assert sources["later"]["state"] == "never polled"
    assert data["suppressions"] == {"hard_bounce": 2, "unsubscribed": 1}
    assert data["problems"] == []


def test_status_tables(env: Path) -> None:
    result = runner.invoke(app, ["status"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.output
    for title in ("Schedules (times in Asia/Seoul)", "Outbox", "Last digest runs", "Sources",
                  "Suppressions"):  # fmt: skip
        assert title in out
    assert "digest:morning" in out and "2026-11-24 07:00" in out  # the run, in Seoul time
    assert "gone (" in out and "error: folder not found" in out
    assert "later (https://cms.example.kr/rss): not polled yet" in out
    assert "hard_bounce" in out and "2/0/0" not in out and "0/0/2" in out  # sent/failed/queued


def test_status_with_a_broken_schedules_file_still_shows_the_rest(env: Path) -> None:
    (env / "schedules.yaml").write_text("digests: [{id: x}]\n", encoding="utf-8")
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schedules"] == [] and data["problems"][0].startswith("schedules.yaml: digests")
    assert {s["name"] for s in data["sources"]} == {"drop", "gone", "later"}
