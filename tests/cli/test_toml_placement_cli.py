"""A top-level setting written after an ``[[inbound_sources]]`` or ``[[sources]]`` header lands
in that table (TOML's rule): start-up names the key, the table, and the fix (a real file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import load_settings
from tests.conftest import ROOT

runner = CliRunner()

HEAD = f"""database_url = "sqlite:///{{db}}"
schedules_file = "{ROOT / "schedules.yaml"}"
secret_key = "test-secret-key-0123456789"
"""

INBOUND_THEN_SETTINGS = """
[[inbound_sources]]
kind = "maildir"
name = "bounces"
path = "{maildir}"

smtp_url = "smtp://relay.example.kr:25"
"""

TWO_SOURCES_THEN_SETTINGS = """
[[sources]]
kind = "feed"
name = "cms"
url = "https://cms.example.kr/rss"

[[sources]]
kind = "folder"
name = "drop"
path = "{maildir}"

site_name = "한빛일보"
smtp_url = "smtp://relay.example.kr:25"
"""


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tail: str) -> Path:
    path = tmp_path / "publisher.toml"
    text = HEAD.format(db=tmp_path / "p.db") + tail.format(maildir=tmp_path / "Maildir")
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(path))
    return path


def test_a_setting_after_inbound_sources_is_named_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, monkeypatch, INBOUND_THEN_SETTINGS)
    for command in (["check", "--offline"], ["status"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert (
            f"error: {path}: inbound_sources[0].smtp_url: misplaced setting: smtp_url is a "
            "top-level setting, but it comes after the [[inbound_sources]] header, so TOML "
            "puts it in that table (inbound_sources[0]); write top-level settings before the "
            "first [[...]] table"
        ) in result.output.replace("\n", " ").replace("  ", " ")
        assert "unknown key" not in result.output  # not the confusing message


def test_the_same_for_sources_each_key_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.core.config import MisplacedSettingError

    _config(tmp_path, monkeypatch, TWO_SOURCES_THEN_SETTINGS)
    with pytest.raises(MisplacedSettingError) as exc:
        load_settings()
    assert exc.value.misplaced == [("sources[1]", "site_name"), ("sources[1]", "smtp_url")]
    result = runner.invoke(app, ["check", "--offline"])
    assert result.exit_code == 2
    out = result.output.replace("\n", " ")
    assert "sources[1].site_name: misplaced setting" in out
    assert "sources[1].smtp_url: misplaced setting" in out


def test_settings_before_the_table_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same file with the setting moved up: nothing to complain about.
    _config(tmp_path, monkeypatch, 'smtp_url = "smtp://relay.example.kr:25"\n'
            + INBOUND_THEN_SETTINGS.split("\nsmtp_url")[0] + "\n")  # fmt: skip
    settings = load_settings()
    assert settings.smtp_url == "smtp://relay.example.kr:25"
    assert [s.name for s in settings.inbound_sources] == ["bounces"]
