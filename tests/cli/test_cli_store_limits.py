"""Files and arguments PostgreSQL would refuse (a NUL, an id past 32 bits, a slug longer than
its column) are named errors of the CLI on both stores, and leave nothing half written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from publisher.cli import app
from publisher.store.consentschema import consent_log
from publisher.store.schema import subscribers, suppressions
from tests.digestkit import cli_store, load_store

runner = CliRunner()


@pytest.fixture
def db(any_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI's environment (cli_store) pointed at ``any_engine``'s database."""
    cli_store(tmp_path, monkeypatch)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", any_engine.url.render_as_string(False))
    return any_engine


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tool", "body", "where"),
    [
        ("mailchimp", '"Email Address","First Name"\nok@example.kr,Min\nb@example.kr,Ji\x00\n',
         "line 3: First Name: holds a NUL character"),
        ("mailchimp", '"Email Address",Status\nok@example.kr,subscribed\nb@example.kr,sub\x00\n',
         "line 3: Status: holds a NUL character"),
        ("ghost", "email,name,subscribed_to_emails\nok@example.kr,A\x00,true\n",
         "line 2: name: holds a NUL character"),
    ],
)  # fmt: skip
def test_an_export_with_a_nul_is_refused_whole(
    db: Engine, tmp_path: Path, tool: str, body: str, where: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(body, encoding="utf-8")
    result = runner.invoke(app, ["subscribers", "import", "--from", tool, str(bad)])
    assert result.exit_code == 1, result.output
    assert where in result.output and "nothing was imported" in result.output
    assert _count(db, subscribers) == 0 and _count(db, consent_log) == 0


def test_a_plain_import_skips_rows_the_store_cannot_hold(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "readers.csv"
    path.write_text(
        "email,name,sections\nnul@example.kr,A\x00,\n"
        f"long@example.kr,,{'x' * 65}\nok@example.kr,B,politics\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["subscribers", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 2: name: holds a NUL character" in result.output
    assert "line 3: sections: not a section slug" in result.output
    assert _count(db, subscribers) == 1


@pytest.mark.parametrize(
    ("escaped", "reason"),
    [("\\u0000", "holds a NUL character"), ("\\ud800", "holds a lone surrogate (U+D800)")],
)
def test_a_view_count_the_store_cannot_hold_is_a_rejected_record(
    db: Engine, tmp_path: Path, escaped: str, reason: str
) -> None:
    load_store(db)
    path = tmp_path / "views.jsonl"
    path.write_text(
        f'{{"article_id": "a0001{escaped}", "count": 5, "at": "2026-11-23T08:00:00+09:00"}}\n'
        '{"article_id": "a0001", "count": 7, "at": "2026-11-23T08:00:00+09:00"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["views", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert f"line 1: article_id: {reason}" in result.output
    assert "imported 1 records (7 views), rejected 1" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["digest", "approve", str(2**31)], ["digest", "reject", "99999999999"],
        ["digest", "report", str(2**31)], ["articles", "list", "--limit", "9" * 20],
        ["suppressions", "add", "a@example.kr", "--reason", "x" * 33],
        ["suppressions", "add", "a@example.kr", "--reason", "x\udcff"],
        ["suppressions", "add", "a@example.kr", "--reason", "x\u0000"],
        ["alerts", "history", "--limit", "9" * 20], ["digest", "history", "morning", "--limit",
        "9" * 20], ["subscribers", "list", "--limit", "9" * 20], ["views", "top", "--limit",
        str(2**31)],
    ],
)  # fmt: skip
def test_numbers_and_words_past_their_columns_are_usage_errors(db: Engine, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output and "database error" not in result.output


def test_a_suppression_file_with_a_nul_is_refused_whole(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "blocked.txt"
    path.write_text("ok@example.kr\nbad\x00@example.kr\n", encoding="utf-8")
    result = runner.invoke(app, ["suppressions", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:2: not an email address" in result.output
    assert _count(db, suppressions) == 0
    path.write_text("ok@example.kr\n", encoding="utf-8")
    result = runner.invoke(app, ["suppressions", "import", str(path), "--reason", "y" * 40])
    assert result.exit_code == 2 and _count(db, suppressions) == 0


def test_a_jsonl_import_names_the_rows_it_cannot_store(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "readers.jsonl"
    path.write_text(
        '{"email": "s@example.kr", "name": "Kim\\ud800"}\n'
        '{"email": "k@example.kr", "nick\\udc00": "x"}\n'
        '{"email": "n@example.kr", "sections": [1]}\n'
        '{"email": "z@example.kr", "sections": ["politics", null]}\n'
        '{"email": "ok@example.kr", "name": "Kim", "sections": ["politics"]}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["subscribers", "import", str(path)])
    assert result.exit_code == 1, result.output
    for line, error in (
        (1, "name: holds a lone surrogate (U+D800)"), (2, "(key): holds a lone surrogate (U+DC00)"),
        (3, "sections: not a section slug: 1"), (4, "sections: not a section slug: None"),
    ):  # fmt: skip
        assert f"line {line}: {error}" in result.output
    assert _count(db, subscribers) == 1


def test_a_suppression_address_past_its_column_is_refused(db: Engine, tmp_path: Path) -> None:
    long = "a" * 300 + "@" + "b" * 20 + ".kr"  # 324 characters: suppressions.email is 320
    result = runner.invoke(app, ["suppressions", "add", "ok@example.kr", long])
    assert result.exit_code == 1, result.output
    assert "EMAIL: longer than 320 characters" in result.output
    assert "database error" not in result.output
    path = tmp_path / "blocked.txt"
    path.write_text(f"ok@example.kr\n{long}\n", encoding="utf-8")
    result = runner.invoke(app, ["suppressions", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:2: longer than 320 characters" in result.output
    assert _count(db, suppressions) == 0
    # An undecodable byte on the command line arrives as a lone surrogate (surrogateescape).
    result = runner.invoke(app, ["suppressions", "add", "a\udcff@example.kr"])
    assert result.exit_code == 1 and "not an email address" in result.output
    assert _count(db, suppressions) == 0


def test_view_counts_that_sum_past_32_bits_stop_at_the_columns_largest(
    db: Engine, tmp_path: Path
) -> None:
    from publisher.store.schema import view_buckets

    load_store(db)
    path = tmp_path / "views.jsonl"
    record = '{"article_id": "a0001", "count": 1000000000, "at": "2026-11-23T08:00:00+09:00"}\n'
    path.write_text(record * 3, encoding="utf-8")
    for _ in range(2):  # the second import adds to the stored bucket: capped in the store too
        result = runner.invoke(app, ["views", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "database error" not in result.output
    with db.connect() as conn:
        counts = conn.execute(select(view_buckets.c.count)).scalars().all()
    assert max(counts) == 2**31 - 1 and counts.count(2**31 - 1) == 1
