"""bench/syndication.py itself, small: it runs, and its figures say what they should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sitemap_bench_runs_small(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "syndication.py"), "--articles", "3000",
           "--runs", "1"]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "3,000 articles" in out and "full build:" in out
    assert "no change, daemon:" in out and ", 0 written" in out
    assert "one article fixed:" in out and "2 files written" in out  # its month and the index
    assert "rebuild every file each time" in out
