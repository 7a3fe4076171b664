"""`publisher check` opens and tests every resource; `publisher run` refuses to start without."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from tests.daemonkit import ROOT, daemon_env
from tests.pgserver import free_port
from tests.smtpserver import ThreadedServer

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real, complete installation: `check` passes on it."""
    good = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'p.db'}",
        "TEMPLATES_DIR": str(ROOT / "templates"), "SCHEDULES_FILE": str(ROOT / "schedules.yaml"),
        "FEEDS_DIR": str(tmp_path / "feeds"), "SMTP_URL": f"maildir://{tmp_path / 'mail'}",
        "SECRET_KEY": "test-secret-key-0123456789", "FROM_ADDRESS": "news@news.example.kr",
        "POSTAL_ADDRESS": "서울특별시 중구 세종대로 1",
    }  # fmt: skip
    for k, v in good.items():
        monkeypatch.setenv(f"PUBLISHER_{k}", v)
    return tmp_path


def check(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["check", *args])
    return result.exit_code, result.stderr.splitlines() or result.stdout.splitlines()


def test_a_complete_installation_passes(env: Path) -> None:
    assert check() == (0, ["configuration OK"])
    assert not (env / "var").exists() and not (env / "feeds").exists()  # check creates nothing


def test_a_file_that_is_not_a_database(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    junk = env / "junk.db"
    junk.write_bytes(b"this is a text file, not SQLite\n" * 100)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{junk}")
    code, lines = check()
    assert code == 2
    assert lines == ["error: database_url: cannot open the database: file is not a database"]


def test_an_unreachable_postgresql(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://publisher:secret@127.0.0.1:{free_port()}/publisher"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
    code, lines = check()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: database_url: cannot open the database: ")
    assert "secret" not in lines[0]


def test_a_database_migrated_by_a_newer_version(env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    with sqlite3.connect(env / "var" / "p.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    code, lines = check()
    assert code == 2 and "at revision 0099, which this version does not know" in lines[0]


def test_templates_missing_or_broken(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_TEMPLATES_DIR", str(env / "nowhere"))
    assert check() == (2, [f"error: templates_dir: {env / 'nowhere'}: no such folder"])
    mine = env / "templates"
    shutil.copytree(ROOT / "templates", mine)
    monkeypatch.setenv("PUBLISHER_TEMPLATES_DIR", str(mine))
    digest = mine / "email" / "digest.html.j2"
    digest.write_text(digest.read_text("utf-8") + "\n{% if x %}never closed\n", "utf-8")
    (mine / "web" / "share.html.j2").write_text("{{ a | no_such_filter }}", "utf-8")
    (mine / "email" / "confirm.txt.j2").unlink()
    code, lines = check()
    assert code == 2
    assert lines == [f"error: templates_dir: {mine}: missing email/confirm.txt.j2"]
    shutil.copy(ROOT / "templates" / "email" / "confirm.txt.j2", mine / "email")
    code, lines = check()
    assert code == 2 and len(lines) == 2, lines
    assert lines[0].startswith(f"error: templates_dir: {mine}/email/digest.html.j2:")
    assert "no_such_filter" in lines[1] and "web/share.html.j2:1" in lines[1]


def test_feeds_dir_that_cannot_be_written(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = env / "a-file"
    blocker.write_text("x", "utf-8")
    monkeypatch.setenv("PUBLISHER_FEEDS_DIR", str(blocker))
    assert check() == (2, [f"error: feeds_dir: {blocker}: not a folder"])
    monkeypatch.setenv("PUBLISHER_FEEDS_DIR", str(blocker / "feeds"))
    assert check() == (2, [f"error: feeds_dir: {blocker / 'feeds'}: {blocker} is not a folder"])


def test_dkim_key_missing_unreadable_or_half_configured(
    env: Path, monkeypatch: pytest.MonkeyPatch, keypair: tuple[bytes, bytes]
) -> None:
    monkeypatch.setenv("PUBLISHER_DKIM_SELECTOR", "pub2026")
    monkeypatch.setenv("PUBLISHER_DKIM_PRIVATE_KEY_FILE", str(env / "missing.pem"))
    code, lines = check()
    assert code == 2
    assert lines == [f"error: dkim_private_key_file: cannot read {env / 'missing.pem'}: "
                     "No such file or directory"]  # fmt: skip
    bad = env / "bad.pem"
    bad.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
    monkeypatch.setenv("PUBLISHER_DKIM_PRIVATE_KEY_FILE", str(bad))
    code, lines = check()
    assert code == 2 and lines[0].startswith(f"error: dkim_private_key_file: {bad}: ")
    good = env / "good.pem"
    good.write_bytes(keypair[0])
    monkeypatch.setenv("PUBLISHER_DKIM_PRIVATE_KEY_FILE", str(good))
    assert check() == (0, ["configuration OK"])
    monkeypatch.delenv("PUBLISHER_DKIM_PRIVATE_KEY_FILE")
    code, lines = check()
    assert lines == ["error: dkim_private_key_file: required when dkim_selector is set "
                     "(or clear both to send unsigned)"]  # fmt: skip


def test_lease_below_the_data_timeout_and_no_postal_address(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_LEASE_DURATION", "5m")
    monkeypatch.delenv("PUBLISHER_POSTAL_ADDRESS")
    code, lines = check()
    assert code == 2 and len(lines) == 2, lines
    assert lines[0].startswith("error: lease_duration: 5m must be longer than smtp_data_timeout")
    assert lines[1].startswith("error: postal_address: required")
    monkeypatch.setenv("PUBLISHER_DEMO", "true")  # a try-out needs no postal address
    code, lines = check()
    assert code == 2 and len(lines) == 1 and "lease_duration" in lines[0]


def test_the_relay_must_greet_unless_offline(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("PUBLISHER_SMTP_URL", f"smtp://user:pw0rd@127.0.0.1:{port}")
    code, lines = check()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: smtp_url: smtp://127.0.0.1:{port}: ")
    assert "pw0rd" not in lines[0]
    assert check("--offline") == (0, ["configuration OK (offline: the SMTP relay was not tried)"])
    with ThreadedServer() as relay:
        monkeypatch.setenv("PUBLISHER_SMTP_URL", relay.url)
        assert check() == (0, ["configuration OK"])
        assert relay.server.record.messages == []  # greeted, nothing sent


def test_every_problem_at_once(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_TEMPLATES_DIR", str(env / "nowhere"))
    monkeypatch.setenv("PUBLISHER_DKIM_SELECTOR", "pub2026")
    monkeypatch.setenv("PUBLISHER_DKIM_PRIVATE_KEY_FILE", str(env / "missing.pem"))
    monkeypatch.setenv("PUBLISHER_LEASE_DURATION", "1m")
    code, lines = check()
    keys = [line.split(":")[1].strip() for line in lines]
    assert code == 2 and keys == ["lease_duration", "dkim_private_key_file", "templates_dir"]


def test_run_refuses_to_start_with_the_problems_listed(tmp_path: Path) -> None:
    env = daemon_env(
        database_url=f"sqlite:///{tmp_path / 'p.db'}", smtp_url=f"maildir://{tmp_path / 'mail'}",
        feeds_dir=str(tmp_path / "feeds"), schedules_file=str(ROOT / "schedules.yaml"),
        postal_address="서울특별시 중구 세종대로 1", dkim_selector="pub2026",
        dkim_private_key_file=str(tmp_path / "missing.pem"), web_port=str(free_port()),
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "run"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: dkim_private_key_file: cannot read" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "p.db").exists()


@pytest.mark.postgres
def test_a_reachable_postgresql_passes(
    env: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", pg_url)
    assert check() == (0, ["configuration OK"])  # empty: `run` and `init` will migrate it
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert check() == (0, ["configuration OK"])


def test_every_command_refuses_a_database_of_a_newer_version_in_one_line(env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    with sqlite3.connect(env / "var" / "p.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    result = runner.invoke(app, ["subscribers", "list"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: database_url: the database is at revision 0099, which this version does not "
        "know (a newer publisher migrated it)"
    )
