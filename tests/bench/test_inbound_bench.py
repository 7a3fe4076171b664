"""bench/inbound.py itself, small: 300 messages through the Maildir job, every outcome seen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_inbound_bench_runs_and_reports_each_outcome(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "inbound.py"), "--messages", "300",
           "--readers", "200"]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "300 messages" in out and "msg/s" in out and "peak RSS" in out
    for outcome in ("hard_bounce", "soft_bounce", "complaint", "unsubscribe", "auto_reply",
                    "unmatched"):  # fmt: skip
        assert outcome in out, out
