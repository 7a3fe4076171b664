"""`publisher run` as a subprocess: a drain that dies is reported and restarted; a port in use
stops the start with one line."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.daemonkit import ROOT, Daemon, cli, daemon_env, queue_digest, wait_for
from tests.pgserver import free_port
from tests.smtpserver import Behaviour, ThreadedServer

pytestmark = pytest.mark.slow

# Nothing fires by itself: only the start-up catch-up and what each test does.
SCHEDULES = """\
timezone: Asia/Seoul
digests:
  - {id: hourly, name: "매시", every: 1h, first_window: 7d, settle_minutes: 0, stale_after: 1h}
jobs:
  collect: {cron: "0 0 1 1 *"}
  feeds: {cron: "0 0 1 1 *"}
  deliver: {every: 1s}
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


def _problems(url: str) -> str:
    return _problem_text(_get(url)[1])


def _problem_text(body: dict[str, object]) -> str:
    found = body.get("problems", [])
    return " ".join(str(p) for p in found) if isinstance(found, list) else ""


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
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'p.db'}",
        "smtp_url": f"maildir://{tmp_path / 'mail'}",
        "schedules_file": str(tmp_path / "schedules.yaml"),
        "feeds_dir": str(tmp_path / "feeds"),
        "web_port": str(free_port()),
    }
    return daemon_env(**(settings | extra))


def _queue_a_digest(tmp_path: Path, env: dict[str, str], readers: int) -> None:
    """Queue one digest for `readers` subscribers, through the CLI."""
    subscribers = tmp_path / "subscribers.csv"
    subscribers.write_text(
        "email,name,sections,frequency,status\n"
        + "".join(f"reader{i}@example.kr,독자{i},,daily,confirmed\n" for i in range(readers)),
        "utf-8",
    )
    with (ROOT / "samples" / "articles.jsonl").open(encoding="utf-8") as src:
        article = json.loads(src.readline())
    published = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps(article | {"published_at": published}) + "\n", "utf-8")
    queue_digest(env, db=tmp_path / "p.db", articles=articles, subscribers=subscribers,
                 digest="hourly", cwd=tmp_path)  # fmt: skip


def test_a_drain_that_cannot_start_is_reported_and_recovers_once_fixed(
    tmp_path: Path, keypair: tuple[bytes, bytes]
) -> None:
    """The DKIM key disappears while the daemon runs; the relay then goes away, so the drain
    is built again (as after any relay outage) and cannot be: reported, restarted, and back
    to health once the key is in place, without restarting the daemon."""
    key = tmp_path / "dkim.pem"
    key.write_bytes(keypair[0])
    with ThreadedServer(Behaviour(final_delay=0.2)) as relay:
        env = _env(
            tmp_path, dkim_selector="s1", dkim_private_key_file=str(key), smtp_url=relay.url,
            smtp_pool_size="2", postal_address="서울특별시 중구 세종대로 1",
        )  # fmt: skip
        web, ops = env["PUBLISHER_WEB_PORT"], env["PUBLISHER_OPS_PORT"]
        _queue_a_digest(tmp_path, env, 60)
        d = Daemon(env, cwd=tmp_path, log=tmp_path / "run.log")
        try:
            health = f"http://127.0.0.1:{web}/healthz"
            record = relay.server.record
            wait_for(lambda: len(record.messages) >= 4, seconds=30, what="mail", alive=[d])
            assert _get(health)[0] == 200
            key.unlink()  # the key goes…
            relay.loop.call_soon_threadsafe(_cut, relay)  # …and then the relay
            # First the pause (the relay is gone), then the rebuilt drain's DKIM error.
            wait_for(lambda: "drain: DkimError" in _problems(health), seconds=30,
                     what="/healthz: DkimError", alive=[d])  # fmt: skip
            code, body = _get(health)
            assert code == 503
            problems = _problem_text(body)
            assert body["drain"] is False and body["database"] is True, body
            assert "drain: DkimError" in problems and str(key) in problems, body
            assert "ERROR" in d.log() and "drain stopped: DkimError" in d.log()
            assert _get(f"http://127.0.0.1:{ops}/healthz")[0] == 503  # the ops listener agrees
            assert _metric(int(ops), "publisher_drain_up") == 0
            status = json.loads(cli(env, "status", "--json", cwd=tmp_path))
            assert status["daemon"]["state"] == "unavailable"
            assert any("DkimError" in p for p in status["daemon"]["problems"])

            key.write_bytes(keypair[0])  # the operator puts the key back: no restart needed
            # The drain runs again, but the relay is still away: paused, not healthy.
            wait_for(lambda: "drain: paused: relay unavailable" in _problems(health),
                     seconds=60, what="/healthz: paused", alive=[d])  # fmt: skip
            assert _get(health)[0] == 503 and _get(health)[1]["drain"] is False
            assert _metric(int(ops), "publisher_drain_up") == 0
            asyncio.run_coroutine_threadsafe(relay.server.start(), relay.loop).result(10)
            wait_for(lambda: _get(health)[0] == 200, seconds=60, what="/healthz ok", alive=[d])
            assert _metric(int(ops), "publisher_drain_up") == 1
            restarts = _metric(int(ops), "publisher_drain_restarts_total")
            assert restarts is not None and restarts >= 1
            status = json.loads(cli(env, "status", "--json", cwd=tmp_path))
            assert status["daemon"]["state"] == "ok"
            d.proc.send_signal(signal.SIGTERM)
            assert d.proc.wait(30) == 0, d.log()
        finally:
            d.close()


def test_a_drain_paused_by_a_relay_outage_is_not_healthy_until_the_relay_answers(
    tmp_path: Path,
) -> None:
    """The relay is down from the start: the drain runs but every run pauses at once. That
    is 503 on /healthz and publisher_drain_up 0, not "drain": true, until the relay answers
    again (its postponed messages may not be due yet: a session at the next tick is proof)."""
    port = free_port()
    env = _env(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", postal_address="서울 중구 1")
    web, ops = env["PUBLISHER_WEB_PORT"], env["PUBLISHER_OPS_PORT"]
    _queue_a_digest(tmp_path, env, 3)
    d = Daemon(env, cwd=tmp_path, log=tmp_path / "run.log")
    try:
        health = f"http://127.0.0.1:{web}/healthz"
        wait_for(lambda: "drain: paused: relay unavailable" in _problems(health), seconds=30,
                 what="/healthz: paused", alive=[d])  # fmt: skip
        code, body = _get(health)
        assert code == 503 and body["drain"] is False and body["status"] == "unavailable"
        assert _get(f"http://127.0.0.1:{ops}/healthz")[0] == 503
        assert _metric(int(ops), "publisher_drain_up") == 0
        relay = ThreadedServer(Behaviour())
        relay.server.port = port  # the relay comes back where it was
        with relay:
            wait_for(lambda: _get(health)[0] == 200, seconds=30, what="/healthz ok", alive=[d])
            assert relay.server.record.connections >= 1
            assert _metric(int(ops), "publisher_drain_up") == 1
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(30) == 0, d.log()
    finally:
        d.close()


def _cut(relay: ThreadedServer) -> None:
    """The relay goes away: no new connections, and the open ones drop."""
    assert relay.server._server is not None
    relay.server._server.close()
    for transport in relay.server.record.transports:
        transport.abort()


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
