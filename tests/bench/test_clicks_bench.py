"""bench/clicks.py itself, short: three servers answer, and every click the shipped server
answered is stored once it shuts down (the flush at shutdown loses nothing)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_click_bench_runs_and_counts_every_click() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "clicks.py"), "--seconds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {m.group(1): m for m in re.finditer(
        r"^(bare|batched|naive)\s.*errors (\d+)\s+clicks stored (\d+) of (\d+)$",
        done.stdout, re.M,
    )}  # fmt: skip
    assert set(lines) == {"bare", "batched", "naive"}, done.stdout
    for mode in ("batched", "naive"):
        m = lines[mode]
        assert m.group(2) == "0" and int(m.group(3)) >= int(m.group(4)) > 0, done.stdout
    assert "x the throughput of one write per click" in done.stdout
