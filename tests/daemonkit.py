"""Drive `python -m publisher …` as a subprocess: env settings, log files, polling helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.pgserver import free_port

ROOT = Path(__file__).resolve().parents[1]


def daemon_env(**settings: str) -> dict[str, str]:
    """The process environment with only the given PUBLISHER_* settings (upper-cased keys)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PUBLISHER_TEMPLATES_DIR": str(ROOT / "templates"),
        "PUBLISHER_SECRET_KEY": "test-secret-key-of-enough-length-0123456789",
        "PUBLISHER_POSTAL_ADDRESS": "서울특별시 중구 세종대로 1",  # `run` refuses to start without
        # Each daemon its own operations port: tests run several at once.
        "PUBLISHER_OPS_PORT": str(free_port()),
    }
    env |= {f"PUBLISHER_{k.upper()}": v for k, v in settings.items()}
    return env


def cli(env: dict[str, str], *args: str, cwd: Path) -> str:
    """Run one CLI command to completion; fail the test with its output if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"publisher {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def queue_digest(
    env: dict[str, str], *, db: Path, articles: Path, subscribers: Path, digest: str, cwd: Path
) -> str:
    """A fresh database with the articles and subscribers, and one digest run queued for the
    daemon to drain (articles registered before the window due now closed)."""
    import sqlite3

    cli(env, "init", cwd=cwd)
    cli(env, "articles", "import", str(articles), cwd=cwd)
    cli(env, "subscribers", "import", str(subscribers), cwd=cwd)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE articles SET registered_at = datetime('now', '-2 hours')")
    return cli(env, "digest", "run", digest, cwd=cwd)


class Daemon:
    """`publisher run` in a subprocess, its output going to a log file."""

    def __init__(self, env: dict[str, str], *, cwd: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "run"],
            cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def wait_for(
    condition: Callable[[], object], *, seconds: float, what: str, alive: Sequence[Daemon] = ()
) -> float:
    """Poll `condition` until it is true; returns the seconds it took. Fails after `seconds`,
    or at once when one of `alive` has exited (with its log)."""
    started = time.monotonic()
    while not condition():
        for d in alive:
            assert d.proc.poll() is None, f"daemon exited early:\n{d.log()}"
        if time.monotonic() - started > seconds:
            logs = "\n".join(d.log()[-3000:] for d in alive)
            raise AssertionError(f"timed out after {seconds} s: {what}\n{logs}")
        time.sleep(0.1)  # polling for a condition, not timing anything
    return time.monotonic() - started
