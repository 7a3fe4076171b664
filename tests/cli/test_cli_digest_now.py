"""`digest run --now`: an operator sends a digest now, without stealing the scheduled run."""

from __future__ import annotations

import functools
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.app import App
from publisher.cli import app
from publisher.core.clock import FixedClock
from tests.digestkit import cli_store

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = cli_store(tmp_path, monkeypatch)  # 18 articles registered before 07:00 on 24 Nov
    for e in ("kim@example.kr", "lee@example.kr"):
        assert runner.invoke(app, ["subscribers", "add", e]).exit_code == 0
    return db


def _run(*args: str) -> str:
    result = runner.invoke(app, ["digest", "run", "morning", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _runs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        q = "SELECT window_end, status, note FROM digest_runs ORDER BY window_end"
        return [(str(e), str(s), str(n)) for e, s, n in conn.execute(q)]


def test_now_at_20h_sends_what_the_skipped_morning_run_did_not(env: Path) -> None:
    # 20:00 in Seoul: the 07:00 run is 13 hours late, so the scheduler's run is stale.
    assert "stale:" in _run("--at", "2026-11-24T20:00")
    out = _run("--now", "--at", "2026-11-24T20:00")  # minutes without seconds are accepted
    # No run sent yet: the window reaches first_window (24h) back, over the skipped morning.
    assert "manual run: (2026-11-23T11:00:00+00:00, 2026-11-24T11:00:00+00:00]" in out
    assert "enqueued: items 18, most viewed 5, variants 1, recipients 2, enqueued 2" in out
    again = _run("--now", "--at", "2026-11-24T20:00")
    assert "already:" in again and "enqueued 0" in again
    # The next morning's run starts where the manual one ended: no article twice.
    nxt = _run("--at", "2026-11-25T07:00:30")
    assert "window: (2026-11-24T11:00:00+00:00, 2026-11-24T21:50:00+00:00]" in nxt
    assert "too_few:" in nxt
    with sqlite3.connect(env) as conn:
        (n,) = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'digest'").fetchone()
    assert n == 2


def test_a_manual_run_never_takes_the_scheduled_run_key(env: Path) -> None:
    # 06:50 is exactly the end of the 07:00 run's window (settle 10 minutes).
    out = _run("--now", "--at", "2026-11-24T06:50+09:00")
    assert "enqueued: items 18" in out
    scheduled = _run("--at", "2026-11-24T07:00:30")
    assert "already:" not in scheduled
    ends = _runs(env)
    assert len(ends) == 2 and ends[0][2] == "manual run (--now)"
    assert ends[0][0] < ends[1][0] == "2026-11-23 21:50:00.000000"


def test_at_refuses_a_malformed_time(env: Path) -> None:
    result = runner.invoke(app, ["digest", "run", "morning", "--now", "--at", "2026-11-24T7"])
    assert result.exit_code == 2 and "--at: not an RFC 3339 timestamp" in result.output


def _clock_at(monkeypatch: pytest.MonkeyPatch, at: str) -> None:
    """What open_app builds, with this clock instead of the system's."""
    clock = FixedClock(datetime.fromisoformat(at))
    monkeypatch.setattr("publisher.cli.common.App", functools.partial(App, clock=clock))


def _refused(*args: str) -> str:
    result = runner.invoke(app, ["digest", "run", "morning", *args])
    assert result.exit_code == 2, result.output
    return result.output


def test_a_future_at_is_refused_and_the_real_run_still_sends(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Noon the day before: the 07:00 slot of the 24th has not come.
    _clock_at(monkeypatch, "2026-11-23T12:00:00+09:00")
    for args in (["--at", "2026-11-24T07:00"], ["--now", "--at", "2026-11-24T07:00"]):
        out = _refused(*args)
        assert (
            "--at: 2026-11-24T07:00:00+09:00 is later than now (2026-11-23T12:00:00+09:00)" in out
        )
        assert "nothing was run or recorded" in out and len(out.strip().splitlines()) == 1
    history = runner.invoke(app, ["digest", "history", "morning"])
    assert "no runs of morning yet" in history.output
    assert _runs(env) == []
    # When the slot has come, its run finds it free and sends every article of its window.
    _clock_at(monkeypatch, "2026-11-25T12:00:00+09:00")
    out = _run("--at", "2026-11-24T07:00:30")  # a past --at still runs
    assert "window: (2026-11-22T21:50:00+00:00, 2026-11-23T21:50:00+00:00]" in out
    assert "enqueued: items 18, most viewed 5, variants 1, recipients 2, enqueued 2" in out


def test_preview_and_test_may_look_ahead_and_record_no_run(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock_at(monkeypatch, "2026-11-23T12:00:00+09:00")
    ahead = ["--at", "2026-11-24T07:00:30"]
    preview = runner.invoke(app, ["digest", "preview", "morning", *ahead])
    assert preview.exit_code == 0 and "items: 18  most viewed: 5" in preview.output
    test = runner.invoke(app, ["digest", "test", "morning", "--to", "ed@example.kr", *ahead])
    assert test.exit_code == 0 and "enqueued 1 test message" in test.output
    assert _runs(env) == []
    # The copy goes out now (the next drain), not at --at, and lives its hour from now.
    with sqlite3.connect(env) as conn:
        q = "SELECT next_attempt_at, expires_at FROM outbox WHERE kind = 'test'"
        rows = [(str(a), str(e)) for a, e in conn.execute(q)]
    assert rows == [("2026-11-23 03:00:00.000000", "2026-11-23 04:00:00.000000")]
    # The slot is still free for its run.
    _clock_at(monkeypatch, "2026-11-24T07:01:00+09:00")
    assert "enqueued: items 18" in _run()


def test_a_run_replayed_days_later_is_queued_now_and_does_not_expire_at_once(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two days after the slot: the operator replays it. Its mail must still go out.
    _clock_at(monkeypatch, "2026-11-26T12:00:00+09:00")
    assert "enqueued 2" in _run("--at", "2026-11-24T07:00:30")
    with sqlite3.connect(env) as conn:
        q = "SELECT next_attempt_at, expires_at FROM outbox WHERE kind = 'digest'"
        rows = {(str(a), str(e)) for a, e in conn.execute(q)}
    assert rows == {("2026-11-26 03:00:00.000000", "2026-11-27 03:00:00.000000")}
