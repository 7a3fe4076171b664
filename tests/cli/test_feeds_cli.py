"""`publisher feeds build` end to end: the table, change detection and --force."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.feedsample import load_sample


def test_feeds_build_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", db)
    monkeypatch.setenv("PUBLISHER_FEEDS_DIR", str(tmp_path / "feeds"))
    monkeypatch.setenv("PUBLISHER_POPULAR_WINDOW", "3650d")  # the sample's views are in 2026
    engine = make_engine(db)
    upgrade(engine)
    load_sample(engine)
    engine.dispose()
    runner = CliRunner()

    first = runner.invoke(app, ["feeds", "build"], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "sections/politics/atom.xml" in first.output
    assert "20 of 20 files changed" in first.output
    assert (tmp_path / "feeds" / "popular" / "feed.json").exists()

    second = runner.invoke(app, ["feeds", "build"], env={"COLUMNS": "200"})
    assert second.exit_code == 0 and "unchanged" in second.output
    assert "0 of 20 files changed" in second.output

    forced = runner.invoke(app, ["feeds", "build", "--force"], env={"COLUMNS": "200"})
    assert "20 of 20 files changed" in forced.output


def test_bad_feed_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PUBLISHER_FEEDS_DIR", str(tmp_path / "feeds"))
    monkeypatch.setenv("PUBLISHER_WEBSUB_HUBS", '["not a url"]')
    result = CliRunner().invoke(app, ["feeds", "build"])
    assert result.exit_code == 2
    assert "websub_hubs" in result.output
    assert not (tmp_path / "feeds").exists()
