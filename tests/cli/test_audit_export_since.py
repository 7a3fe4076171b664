"""`publisher audit export --since`: what an operator types (a date, a date and time, a time
back from now) works; anything else is one line naming the accepted forms, exit 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from publisher.cli import app
from publisher.staff import audit
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade

runner = CliRunner()
FORMS = "Use a date (2026-11-01"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store holding entries on 2026-10-31 23:30 and 2026-11-01 00:30 Seoul time, and one
    from three days ago."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "cli-test-secret-0123456789")
    monkeypatch.setenv("PUBLISHER_TIMEZONE", "Asia/Seoul")
    engine = make_engine(url)
    upgrade(engine)
    recent = datetime.now(UTC) - timedelta(days=3)
    for at, target in [
        (datetime(2026, 10, 31, 14, 30, tzinfo=UTC), "before@example.kr"),
        (datetime(2026, 10, 31, 15, 30, tzinfo=UTC), "after@example.kr"),
        (recent, "recent@example.kr"),
    ]:
        audit.record(engine, at=at, actor="cli", action="user.invite", target=target)
    engine.dispose()


def _export(*since: str) -> Result:
    return runner.invoke(app, ["audit", "export", "--since", *since])


def _targets(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [json.loads(line)["target"] for line in result.stdout.splitlines()]


def test_help_names_the_accepted_forms(env: None) -> None:
    result = runner.invoke(app, ["audit", "export", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())
    assert "--since TIME" in text
    for phrase in ("2026-11-01", "site timezone", "2026-11-01T00:00:00Z", "24h, 7d"):
        assert phrase in text, phrase


@pytest.mark.parametrize(
    ("since", "first"),
    [
        ("2026-11-01", "after@example.kr"),  # from midnight in the site timezone
        ("2026-11-01T00:00", "after@example.kr"),  # seconds may be left out
        ("2026-11-01 00:00:00", "after@example.kr"),
        ("2026-10-31T14:00:00Z", "before@example.kr"),
        ("2026-10-31T23:00+09:00", "before@example.kr"),
    ],
)
def test_a_date_or_a_date_and_time(env: None, since: str, first: str) -> None:
    assert _targets(_export(since))[0] == first


def test_a_time_back_from_now(env: None) -> None:
    assert _targets(_export("7d")) == ["recent@example.kr"]
    assert _targets(_export("2026-01-01")) == [
        "before@example.kr", "after@example.kr", "recent@example.kr",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("since", "why"),
    [
        ("garbage", "'garbage': not a date, a date and time, or a time back from now"),
        ("", "'': empty"),
        ("2026-13-01", "'2026-13-01': invalid date: month must be in 1..12"),
        ("01/11/2026", "'01/11/2026': not a date, a date and time, or a time back from now"),
        ("1800-01-01", "'1800-01-01': year 1800 is out of range 1900-2100"),
        ("0d", "'0d': duration must be positive"),
        ("999999d", "'999999d': duration too long"),  # before: OverflowError, a traceback
        ("99999999999d", "'99999999999d': duration too long"),
        ("١٢h", "'١٢h': not a date, a date and time, or a time back from now"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_forms(env: None, since: str, why: str) -> None:
    result = _export(since)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: --since {why}. ")
    assert FORMS in line and "24h, 7d" in line and "Traceback" not in result.output
    assert line.endswith("; the site timezone is Asia/Seoul")


def test_a_future_time_is_refused_not_silently_empty(env: None) -> None:
    result = _export("2099-01-01")
    assert result.exit_code == 2 and result.stdout == ""
    assert "error: --since '2099-01-01': that is in the future (now " in result.stderr
    assert "give a past date or time" in result.stderr


def test_nothing_since_then_says_so_on_stderr(env: None) -> None:
    result = _export("1h")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith("no audit log entries since ")


def test_an_empty_log_says_so_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["audit", "export"])
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "the audit log is empty\n"
