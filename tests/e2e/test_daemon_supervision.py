"""`publisher run` as a subprocess: a drain that dies is reported and restarted; a port in use
stops the start with one line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.daemonkit import Daemon, cli, daemon_env, wait_for
from tests.pgserver import free_port

pytestmark = pytest.mark.slow

# Nothing fires by itself: only the start-up catch-up and what each test does.
SCHEDULES = """\
timezone: Asia/Seoul
digests:
  - {id: morning, name: "아침", cron: "0 7 * * *"}
jobs:
  collect: {cron: "0 0 1 1 *"}
  feeds: {cron: "0 0 1 1 *"}
  deliver: {cron: "0 0 1 1 *"}
  cleanup: {cron: "30 3 * * *"}
"""


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def _metric(ops: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ops}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, "utf-8")
    return daemon_env(
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        smtp_url=f"maildir://{tmp_path / 'mail'}",
        schedules_file=str(tmp_path / "schedules.yaml"),
        feeds_dir=str(tmp_path / "feeds"),
        web_port=str(free_port()),
        **extra,
    )


def test_a_drain_that_cannot_start_is_reported_and_recovers_once_fixed(
    tmp_path: Path, keypair: tuple[bytes, bytes]
) -> None:
    key = tmp_path / "dkim.pem"  # configured, but not there yet
    env = _env(tmp_path, dkim_selector="s1", dkim_private_key_file=str(key))
    web, ops = env["PUBLISHER_WEB_PORT"], env["PUBLISHER_OPS_PORT"]
    cli(env, "init", cwd=tmp_path)
    d = Daemon(env, cwd=tmp_path, log=tmp_path / "run.log")
    try:
        health = f"http://127.0.0.1:{web}/healthz"
        wait_for(lambda: _get(health)[0] == 503, seconds=30, what="/healthz 503", alive=[d])
        code, body = _get(health)
        assert code == 503
        problems = " ".join(str(p) for p in body.get("problems", []))  # type: ignore[union-attr]
        assert body["drain"] is False and body["database"] is True, body
        assert "drain: DkimError" in problems and str(key) in problems, body
        assert "ERROR" in d.log() and "drain stopped: DkimError" in d.log()
        assert _get(f"http://127.0.0.1:{ops}/healthz")[0] == 503  # the ops listener agrees
        assert _metric(int(ops), "publisher_drain_up") == 0
        status = json.loads(cli(env, "status", "--json", cwd=tmp_path))
        assert status["daemon"]["state"] == "unavailable"
        assert any("DkimError" in p for p in status["daemon"]["problems"])

        key.write_bytes(keypair[0])  # the operator puts the key in place: no restart needed
        wait_for(lambda: _get(health)[0] == 200, seconds=60, what="/healthz ok again", alive=[d])
        assert _metric(int(ops), "publisher_drain_up") == 1
        restarts = _metric(int(ops), "publisher_drain_restarts_total")
        assert restarts is not None and restarts >= 1
        assert json.loads(cli(env, "status", "--json", cwd=tmp_path))["daemon"]["state"] == "ok"
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(30) == 0, d.log()
    finally:
        d.close()


@pytest.mark.parametrize("taken", ["web_port", "ops_port"])
def test_a_port_in_use_is_one_line_and_exit_2_before_any_job(tmp_path: Path, taken: str) -> None:
    env = _env(tmp_path)
    cli(env, "init", cwd=tmp_path)
    port = int(env[f"PUBLISHER_{taken.upper()}"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run(
            [sys.executable, "-m", "publisher", "run"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    errors = [line for line in out.splitlines() if "ERROR" in line or "error" in line.lower()]
    assert len(errors) == 1, out
    assert f"{port}" in errors[0] and "already in use" in errors[0] and taken in errors[0]
    assert "Traceback" not in out
    assert "job " not in out and "fires the schedules" not in out, "nothing may have started"
