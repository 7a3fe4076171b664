"""The CLI end to end: subscribers import/export/list/remove, digest preview/run/test/history."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from publisher.cli import app
from publisher.messages.enqueue import fill as personalise
from publisher.store.db import make_engine
from publisher.store.schema import contents, outbox
from tests.digestkit import NOW, cli_store

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_store(tmp_path, monkeypatch)


def test_subscribers_import_reports_bad_rows_with_line_numbers(env: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "subs.csv"
    csv_file.write_text(
        "email,name,sections,frequency,status\n"
        "kim@example.kr,김민수,politics;economy,daily,confirmed\n"
        "not-an-address,x,,daily,confirmed\n"
        "lee@example.kr,이영희,,monthly,confirmed\n"
        "park@한빛.kr,박,sports,weekly,pending\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["subscribers", "import", str(csv_file)])
    assert result.exit_code == 1, result.output
    assert "subs.csv:line 3: email:" in result.output
    assert "line 4: frequency" in result.output
    assert "added 2, updated 0, unchanged 0, rejected 2" in result.output
    again = runner.invoke(app, ["subscribers", "import", str(csv_file)])
    assert "added 0, updated 0, unchanged 2" in again.output
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text('{"email": "choi@example.kr", "sections": ["world"], "status": "confirmed"}\n'
                     '{"email": "x@example.kr", "colour": "red"}\n', encoding="utf-8")  # fmt: skip
    result = runner.invoke(app, ["subscribers", "import", str(jsonl)])
    assert result.exit_code == 1 and "line 2: colour: unknown column" in result.output
    listed = runner.invoke(app, ["subscribers", "list"])
    assert "kim@example.kr\t김민수\tdaily\tconfirmed\teconomy;politics" in listed.output
    out = tmp_path / "export.csv"
    assert runner.invoke(app, ["subscribers", "export", "-o", str(out)]).exit_code == 0
    assert out.read_text("utf-8").splitlines()[0] == "email,name,sections,frequency,status"
    assert runner.invoke(app, ["subscribers", "remove", "choi@example.kr"]).exit_code == 0
    assert runner.invoke(app, ["subscribers", "remove", "choi@example.kr"]).exit_code == 1


def test_digest_preview_run_test_history(env: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["subscribers", "add", "kim@example.kr", "--name", "김민수",
                        "--sections", "politics"])  # fmt: skip
    runner.invoke(app, ["subscribers", "add", "lee@example.kr"])
    at = NOW.isoformat()
    html, eml = tmp_path / "p.html", tmp_path / "p.eml"
    args = ["--at", at, "--as", "kim@example.kr", "--html", str(html), "--eml", str(eml)]
    result = runner.invoke(app, ["digest", "preview", "morning", *args])
    assert result.exit_code == 0, result.output
    assert "subject: 한빛일보 아침 브리핑 2026년 11월 24일 (화)" in result.output
    assert "items: 3  most viewed: 5  variants: 2  recipients: 2" in result.output
    assert "html size:" in result.output and "  1. " in result.output
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["To"].addresses[0].addr_spec == "kim@example.kr"
    assert html.read_text("utf-8").startswith("<!DOCTYPE html>")

    first = runner.invoke(app, ["digest", "run", "morning", "--at", at])
    assert "enqueued: items 18, most viewed 5, variants 2, recipients 2, enqueued 2" in first.output
    second = runner.invoke(app, ["digest", "run", "morning", "--at", at])
    assert "already:" in second.output and "enqueued 0" in second.output

    test = runner.invoke(app, ["digest", "test", "morning", "--to", "editor@example.kr",
                               "--at", at])  # fmt: skip
    assert "enqueued 1 test message" in test.output
    eng = make_engine(f"sqlite:///{env}")
    with eng.connect() as conn:
        rows = list(conn.execute(select(outbox)))
        kinds = sorted((r.kind, r.recipient) for r in rows)
        test_row = next(r for r in rows if r.kind == "test")
        lifetimes = {r.kind: r.expires_at - r.created_at for r in rows}  # expiry_* defaults
        body = conn.execute(select(contents.c.body).where(contents.c.id == test_row.content_id))
        test_msg = email.message_from_bytes(
            personalise(bytes(body.scalar_one()), json.loads(test_row.substitutions), "<t@x.kr>"),
            policy=email.policy.default,
        )
    eng.dispose()
    assert str(test_msg["Subject"]).startswith("[TEST] 한빛일보 아침 브리핑")
    assert kinds == [("digest", "kim@example.kr"), ("digest", "lee@example.kr"),
                     ("test", "editor@example.kr")]  # fmt: skip
    assert lifetimes == {"digest": timedelta(hours=24), "test": timedelta(hours=1)}

    hist = runner.invoke(app, ["digest", "history", "morning"])
    assert "2026-11-22 21:50\t2026-11-23 21:50\tenqueued\t18\t2\t0\t0\t2" in hist.output


def test_unknown_digest_is_a_clear_error(env: Path) -> None:
    result = runner.invoke(app, ["digest", "run", "nightly"])
    assert result.exit_code == 2 and "no digest 'nightly'" in result.output
