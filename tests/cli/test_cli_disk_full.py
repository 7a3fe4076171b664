"""A full disk mid-command: one clear line, a non-zero exit, and no reader's data printed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from tests.digestkit import NOW, cli_store

runner = CliRunner()
READERS = ("kim.minsu@example.kr", "lee.younghee@example.kr")

# `python -m publisher`, with every SQLite connection allowed to grow by two pages only:
# SQLite's own "database or disk is full", as a full file system gives it.
FULL_DISK = """
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "connect")
def _almost_full(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    pages = cur.execute("PRAGMA page_count").fetchone()[0]
    cur.execute(f"PRAGMA max_page_count = {pages + 2}")
    cur.close()

from publisher.cli import main
sys.argv[0] = "publisher"
main()
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = cli_store(tmp_path, monkeypatch)
    for e in READERS:
        assert runner.invoke(app, ["subscribers", "add", e, "--name", "독자"]).exit_code == 0
    return db


def _on_full_disk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", FULL_DISK, *args],
        env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_digest_run_on_a_full_disk_says_one_line_and_leaks_nothing(env: Path) -> None:
    done = _on_full_disk("digest", "run", "morning", "--at", NOW.isoformat())
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "Traceback" not in out
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[:3000]
    assert "disk or database is full" in lines[0]
    assert "rolled back: nothing was enqueued" in lines[0]
    for secret in (*READERS, "독자", "INSERT", "parameters", "%%"):
        assert secret not in out
    with sqlite3.connect(env) as conn:  # what the line says was kept
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM digest_runs").fetchone() == (0,)


def test_import_on_a_full_disk_says_what_was_imported(env: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    rows = "".join(f"reader{i:05d}@example.kr,독자 {i},,daily,confirmed\n" for i in range(3000))
    big.write_text("email,name,sections,frequency,status\n" + rows, encoding="utf-8")
    done = _on_full_disk("subscribers", "import", str(big))
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "the rows before it were imported" in lines[0], lines
    assert "reader0" not in out
