"""`publisher demo` (what `make demo` runs) sets up a working store and is safe to repeat."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_demo_loads_samples_builds_feeds_and_repeats_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--no-run"])
    assert first.exit_code == 0, first.output
    assert "articles: added 40" in first.output
    assert "1. " in first.output  # the most-viewed box is not empty
    assert (tmp_path / "var" / "publisher.db").exists()
    assert (tmp_path / "feeds" / "rss.xml").exists()
    second = runner.invoke(app, ["demo", "--no-run"])
    assert second.exit_code == 0, second.output
    assert "unchanged 40" in second.output
    assert "views:" not in second.output  # counts are not added twice
    assert "0 changed" in second.output
