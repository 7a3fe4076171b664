"""The soak harness itself (bench/soak.py), small: 300 messages, a few faults, SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_soak_harness_counts_every_message_through_faults(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    cmd = [
        sys.executable, str(ROOT / "bench" / "soak.py"), "--database", "sqlite",
        "--messages", "300", "--enqueue-rate", "0", "--unknown", "3",
        "--faults", "kill9,sigterm", "--fault-every", "80", "--fault-scale", "5",
        "--seconds", "150", "--seed", "20261129", "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    tally = figures["tally"]
    assert tally["lost"] == 0
    assert tally["undrained"] == 0
    assert tally["suppressed_wrongly"] == 0
    # The three 550 5.1.1 recipients end failed and suppressed; everyone else arrived.
    assert tally["failed_expected"] == 3
    assert tally["accepted_recipients"] == 297
    assert tally["sent_marks"] == 297
    # The faults really happened, and the report names them.
    assert figures["injected"].get("kill9", 0) >= 1
    assert figures["injected"].get("sigterm", 0) >= 1
    assert sum(figures["relay_faults"].values()) > 0
    assert "LOST 0" in done.stdout
    assert "duplicates" in done.stdout and "longest wait" in done.stdout
