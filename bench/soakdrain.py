"""The drain under test: ``publisher deliver`` as a subprocess, started again whenever it ends.

Started like tests/delivery/test_deliver_crash.py starts it: ``sys.executable -m publisher deliver``
with the settings in the environment (demo mode: no secret key needed). The supervisor plays
systemd's part: a drain that exits on its own is recorded and started again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from publisher.core.timeparse import parse_duration

ROOT = Path(__file__).resolve().parents[1]
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")


@dataclass(frozen=True)
class DrainSettings:
    pool_size: int = 8
    delivery_rate: float = 0.0
    mark_batch: int = 50
    lease: str = "5s"
    backoff_min: str = "1s"
    backoff_max: str = "10s"
    connect_timeout: float = 5.0
    command_timeout: float = 5.0
    data_timeout: float = 4.0  # below the lease, as the README asks; above the slow replies
    shutdown_grace: str = "5s"

    def env(self, database_url: str, smtp_url: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
        return {
            **keep,
            "PYTHONPATH": str(ROOT),
            "PUBLISHER_DEMO": "true",
            "PUBLISHER_DATABASE_URL": database_url,
            "PUBLISHER_SMTP_URL": smtp_url,
            "PUBLISHER_DELIVERY_RATE": str(self.delivery_rate),
            "PUBLISHER_DELIVERY_DOMAIN_LIMITS": "{}",
            "PUBLISHER_SMTP_POOL_SIZE": str(self.pool_size),
            "PUBLISHER_MARK_BATCH_SIZE": str(self.mark_batch),
            "PUBLISHER_LEASE_DURATION": self.lease,
            "PUBLISHER_BACKOFF_MIN": self.backoff_min,
            "PUBLISHER_BACKOFF_MAX": self.backoff_max,
            "PUBLISHER_SMTP_CONNECT_TIMEOUT": str(self.connect_timeout),
            "PUBLISHER_SMTP_COMMAND_TIMEOUT": str(self.command_timeout),
            "PUBLISHER_SMTP_DATA_TIMEOUT": str(self.data_timeout),
            "PUBLISHER_SHUTDOWN_GRACE": self.shutdown_grace,
        }

    @property
    def grace_seconds(self) -> float:
        return parse_duration(self.shutdown_grace).total_seconds()

    def describe(self) -> str:
        return (
            f"smtp_pool_size {self.pool_size}, delivery_rate {self.delivery_rate:g} "
            "(0 = no limit), "
            f"mark_batch_size {self.mark_batch} (duplicate bound per crash "
            f"{2 * self.mark_batch + self.pool_size}), lease_duration {self.lease}, "
            f"backoff {self.backoff_min}..{self.backoff_max}, timeouts connect "
            f"{self.connect_timeout:g} s / command {self.command_timeout:g} s / data "
            f"{self.data_timeout:g} s, shutdown_grace {self.shutdown_grace}"
        )


@dataclass
class Supervisor:
    """Keeps one ``publisher deliver`` running; records when and how each one ended."""

    env: dict[str, str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    started: int = 0
    exits: list[tuple[float, int, str]] = field(default_factory=list)  # (time, code, last line)
    _log: Path | None = None

    def start(self) -> None:
        self.started += 1
        self._log = self.workdir / f"drain-{self.started}.log"
        with open(self._log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "publisher", "deliver"],
                cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def ended_by_itself(self) -> bool:
        """True (and recorded) if the running drain has exited without being told to."""
        if self.proc is None or self.proc.poll() is None:
            return False
        self._record(self.proc.returncode)
        self.proc = None
        return True

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def sigterm(self, timeout: float) -> bool:
        """SIGTERM and wait; False if it had to be killed after ``timeout`` seconds."""
        if self.proc is None:
            return True
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return False
        if code != 0:
            self._record(code)
        self.proc = None
        return True

    def _record(self, code: int) -> None:
        last = ""
        if self._log is not None and self._log.exists():
            lines = self._log.read_text("utf-8", "replace").strip().splitlines()
            # The first exception of the traceback says why; CancelledError etc. follow it.
            named = [ln for ln in lines if _EXCEPTION.match(ln)]
            last = (named[0] if named else lines[-1] if lines else "")[:200]
        self.exits.append((time.time(), code, last))
