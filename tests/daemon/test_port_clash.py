"""web_port == ops_port: `check` names it, `run` refuses it in one line (exit 2) before
anything starts, and a clash the settings cannot see is caught when the sockets are bound."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from publisher.daemon.listeners import ListenError, bind
from tests.daemonkit import daemon_env
from tests.pgserver import free_port

SCHEDULES = """\
digests: []
jobs:
  collect: {cron: "0 0 1 1 *"}
  feeds: {cron: "0 0 1 1 *"}
  deliver: {cron: "0 0 1 1 *"}
  cleanup: {cron: "30 3 * * *"}
"""


def run_cli(tmp: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    (tmp / "schedules.yaml").write_text(SCHEDULES, "utf-8")
    env = daemon_env(
        database_url=f"sqlite:///{tmp / 'p.db'}", smtp_url=f"maildir://{tmp / 'mail'}",
        schedules_file=str(tmp / "schedules.yaml"), feeds_dir=str(tmp / "feeds"), **settings,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args], cwd=tmp, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("command", [["check", "--offline"], ["run"]])
def test_the_same_port_for_web_and_ops_is_refused_before_anything_starts(
    tmp_path: Path, command: list[str]
) -> None:
    port = str(free_port())
    done = run_cli(tmp_path, *command, web_port=port, ops_port=port)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert f"ops_port: must differ from web_port (both are {port})" in out
    assert "listening" not in out and "Traceback" not in out and "CancelledError" not in out


def test_distinct_addresses_may_share_a_port(tmp_path: Path) -> None:
    port = str(free_port())
    done = run_cli(tmp_path, "check", "--offline", web_port=port, ops_port=port,
                   web_host="127.0.0.2", ops_host="127.0.0.1")  # fmt: skip
    assert "ops_port" not in done.stdout + done.stderr


def test_a_port_clash_is_found_when_binding_not_after_start() -> None:
    """Two SO_REUSEADDR binds of one port both succeed on Linux; the listen must not."""
    first = bind("127.0.0.1", 0, "web_host/web_port")
    try:
        port = first.getsockname()[1]
        with pytest.raises(ListenError, match="ops_port to a free port"):
            bind("127.0.0.1", port, "ops_host/ops_port")
        with pytest.raises(ListenError):
            bind("0.0.0.0", port, "ops_host/ops_port")
        probe = socket.create_connection(("127.0.0.1", port), timeout=5)
        probe.close()  # the first listener is untouched
    finally:
        first.close()
