"""`publisher backup` while the store is being written, and `publisher restore` into an empty
database: subscribers, consent log, outbox and run history come back intact."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from publisher.consent import history
from publisher.consent.record import Act
from publisher.digests import pipeline
from publisher.readers import subscribers as use
from publisher.store.consentschema import consent_log
from publisher.store.db import make_engine
from publisher.store.schema import digest_runs, outbox, subscribers
from tests.digestkit import NOW, cli_store, schedules

SECRET = "test-secret-key-0123456789"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args], env=env or dict(os.environ),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (subscribers, consent_log, outbox, digest_runs)
        }


def _fill(engine: Engine) -> None:
    act = Act("cli", SECRET)
    for n in range(20):
        use.add(engine, {"email": f"r{n}@example.kr", "status": "confirmed"}, now=NOW, act=act)
    from publisher.core.config import load_settings

    s = load_settings()
    assert pipeline.run_digest(engine, s, schedules(), "morning", now=NOW).enqueued == 20


def test_backup_while_writing_then_restore_into_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = cli_store(tmp_path, monkeypatch)
    engine = make_engine(f"sqlite:///{db}")
    _fill(engine)
    before = _counts(engine)
    stop = threading.Event()
    written = [0]

    def writer() -> None:  # the daemon, signing people up during the backup
        while not stop.is_set():
            n = written[0]
            use.add(engine, {"email": f"live{n}@example.kr"}, now=NOW, act=Act("api", SECRET))
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backup = tmp_path / "nightly.db"
        done = _cli("backup", str(backup))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert done.returncode == 0, done.stderr
    assert "backed up the sqlite database" in done.stdout and written[0] > 0
    with sqlite3.connect(backup) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Restore into a new, empty database.
    env = {**os.environ, "PUBLISHER_DATABASE_URL": f"sqlite:///{tmp_path / 'restored.db'}"}
    done = _cli("restore", str(backup), env=env)
    assert done.returncode == 0, done.stderr
    restored = make_engine(env["PUBLISHER_DATABASE_URL"])
    after = _counts(restored)
    assert after["outbox"] == before["outbox"] and after["digest_runs"] == before["digest_runs"]
    # A consistent snapshot: every subscriber the copy holds has its consent row.
    assert after["subscribers"] >= before["subscribers"]
    assert after["consent_log"] == after["subscribers"]
    assert [e["event"] for e in history.history(restored, SECRET, "r3@example.kr")] == [
        "subscribed"
    ]
    with restored.connect() as conn:
        run = conn.execute(select(digest_runs.c.status, digest_runs.c.recipient_count)).one()
    assert tuple(run) == ("enqueued", 20)


def test_restore_refuses_a_database_that_holds_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = cli_store(tmp_path, monkeypatch)
    engine = make_engine(f"sqlite:///{db}")
    _fill(engine)
    assert _cli("backup", str(tmp_path / "b.db")).returncode == 0
    done = _cli("restore", str(tmp_path / "b.db"))  # the live database: not empty
    assert done.returncode == 2 and "not empty" in done.stderr
    assert _counts(engine)["subscribers"] == 20
    env = {**os.environ, "PUBLISHER_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    (tmp_path / "junk.db").write_bytes(b"not a database at all")
    done = _cli("restore", str(tmp_path / "junk.db"), env=env)
    assert done.returncode == 2 and "not a SQLite backup" in done.stderr


@pytest.mark.postgres
def test_postgres_backup_and_restore(pg_url: str, tmp_path: Path) -> None:
    from publisher.store.migrate import upgrade

    src = make_engine(pg_url)
    upgrade(src)
    use.add(src, {"email": "pg@example.kr", "status": "confirmed"}, now=NOW, act=Act("cli", SECRET))
    env = {**os.environ, "PUBLISHER_DATABASE_URL": pg_url, "PUBLISHER_SECRET_KEY": SECRET}
    done = _cli("backup", str(tmp_path / "pg.dump"), env=env)
    assert done.returncode == 0, done.stderr
    target = pg_url.rsplit("/", 1)[0] + "/" + pg_url.rsplit("/", 1)[1] + "_restored"
    src.dispose()
    with make_engine(pg_url.rsplit("/", 1)[0] + "/postgres").connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f'CREATE DATABASE "{target.rsplit("/", 1)[1]}"'
        )
    done = _cli("restore", str(tmp_path / "pg.dump"), env={**env, "PUBLISHER_DATABASE_URL": target})
    assert done.returncode == 0, done.stderr
    restored = make_engine(target)
    assert [e["event"] for e in history.history(restored, SECRET, "pg@example.kr")] == [
        "subscribed"
    ]
    assert _counts(restored)["subscribers"] == 1
    restored.dispose()


def test_backup_file_is_private_and_a_missing_folder_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_store(tmp_path, monkeypatch)
    done = _cli("backup", str(tmp_path / "b.db"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b.db").stat().st_mode & 0o777 == 0o600  # readers' data
    assert not list(tmp_path.glob(".*partial"))
    done = _cli("backup", str(tmp_path / "nowhere" / "b.db"))
    assert done.returncode == 2 and "no such folder" in done.stderr
