"""`subscribers import` of a file with no rows: a header line only, no records, or nothing at
all. One plain line says so (never a row of zero counts, never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.store.db import make_engine
from tests.digestkit import cli_store

runner = CliRunner()
OURS = "email,name,sections,frequency,status\n"
HEADERS = {
    "csv": OURS,
    "mailchimp": '"Email Address","First Name","Last Name",OPTIN_TIME,CONFIRM_TIME\n',
    "listmonk": "uuid,email,name,attributes,status,created_at,updated_at\n",
    "ghost": "id,email,name,note,subscribed_to_emails,created_at,deleted_at\n",
    "substack": "email,active_subscription,plan,email_disabled,created_at\n",
}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_store(tmp_path, monkeypatch)


def _subscribers(store: Path) -> int:
    engine = make_engine(f"sqlite:///{store}")
    with engine.connect() as conn:
        n = int(conn.exec_driver_sql("SELECT count(*) FROM subscribers").scalar_one())
    engine.dispose()
    return n


@pytest.mark.parametrize("tool", sorted(HEADERS))
@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("ending", ["\n", "", "\n\n\n"])
def test_a_header_line_only_says_no_rows_to_import(
    store: Path, tmp_path: Path, tool: str, dry_run: bool, ending: str
) -> None:
    before = _subscribers(store)
    path = tmp_path / "list.csv"
    path.write_text(HEADERS[tool].rstrip("\n") + ending, encoding="utf-8")
    args = ["subscribers", "import", "--from", tool, *(["--dry-run"] if dry_run else []), str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    done = "nothing was written (--dry-run)" if dry_run else "nothing was imported"
    assert result.output == (
        f"no rows to import: {path} has a header line but no subscriber rows; {done}\n"
    )
    assert _subscribers(store) == before


@pytest.mark.parametrize("body", ["", "\n\n", "\ufeff"])
def test_a_jsonl_file_without_records_says_no_rows_to_import(
    store: Path, tmp_path: Path, body: str
) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text(body, encoding="utf-8")
    result = runner.invoke(app, ["subscribers", "import", "--send-confirmation", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"no rows to import: {path} has no records; nothing was imported\n"


@pytest.mark.parametrize("tool", ["", "mailchimp", "listmonk"])
@pytest.mark.parametrize("body", ["", "\n", "\ufeff", "  \n\t\n"])
def test_an_empty_csv_is_an_error_saying_it_is_empty(
    store: Path, tmp_path: Path, tool: str, body: str
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(body, encoding="utf-8")
    source = ["--from", tool] if tool else []
    result = runner.invoke(app, ["subscribers", "import", *source, str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {path} is empty (not even a header line); nothing was imported. A CSV "
        "import starts with a header line naming its columns, then one row per subscriber\n"
    )
