"""`subscribers import --from TOOL`: real exports of Mailchimp, listmonk, Ghost and Substack,
as the tools write them (tests/consent/exports/), import as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from publisher.cli import app
from publisher.consent import history
from publisher.store.consentschema import advertising_consent
from publisher.store.db import make_engine
from publisher.store.schema import outbox, subscribers, suppressions
from tests.digestkit import cli_store

EXPORTS = Path(__file__).parent / "exports"
SECRET = "test-secret-key-0123456789"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    path = cli_store(tmp_path, monkeypatch)
    return make_engine(f"sqlite:///{path}")


def _import(*args: str) -> str:
    result = runner.invoke(app, ["subscribers", "import", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _people(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.email: r.status for r in conn.execute(select(subscribers))}


def _suppressed(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.email: r.reason for r in conn.execute(select(suppressions))}


def test_mailchimp_export_imports_as_is(db: Engine) -> None:
    for name in ("subscribed", "unsubscribed", "cleaned"):
        _import("--from", "mailchimp", str(EXPORTS / f"mailchimp_{name}.csv"))
    people = _people(db)
    # Confirmed only with a CONFIRM_TIME; the other subscribed member waits for a confirmation.
    assert people["minsu.kim@example.kr"] == "confirmed"
    assert people["jiwoo@example.kr"] == "pending"
    assert "left@example.kr" not in people and "gone@example.kr" not in people
    assert _suppressed(db) == {"left@example.kr": "unsubscribed", "gone@example.kr": "hard_bounce"}
    events = history.history(db, SECRET, "minsu.kim@example.kr")
    assert [(e["event"], e["channel"], e["at"][:19]) for e in events] == [
        ("imported", "import", "2021-03-02T01:15:22"),  # the source's own dates
        ("confirmed", "import", "2021-03-02T01:17:40"),
    ]
    assert events[0]["detail"]["source"] == "mailchimp"
    left = history.history(db, SECRET, "left@example.kr")
    assert [(e["event"], e["at"][:10]) for e in left] == [
        ("imported", "2020-01-05"),
        ("unsubscribed", "2023-05-01"),
    ]
    with db.connect() as conn:  # advertising consent dates from the confirmation
        [since] = conn.execute(select(advertising_consent.c.consented_at)).scalars()
    assert since.isoformat()[:19] == "2021-03-02T01:17:40"


def test_listmonk_export_imports_as_is(db: Engine) -> None:
    out = _import("--from", "listmonk", str(EXPORTS / "listmonk.csv"))
    assert "1 blocklisted suppression" in out
    assert _people(db) == {"hana@example.kr": "pending"}  # nothing recorded a confirmation
    assert _suppressed(db) == {"spam@example.kr": "blocklisted", "off@example.kr": "unsubscribed"}
    _import("--from", "listmonk", str(EXPORTS / "listmonk_list.csv"))
    assert _people(db) == {"hana@example.kr": "confirmed", "wait@example.kr": "pending"}


def test_ghost_and_substack_members_come_in_pending_and_can_be_asked(db: Engine) -> None:
    out = _import("--from", "ghost", "--send-confirmation", str(EXPORTS / "ghost.csv"))
    assert "queued 1 confirmation mails" in out
    _import("--from", "substack", str(EXPORTS / "substack.csv"))
    assert _people(db) == {"jamie@example.com": "pending", "reader1@example.com": "pending"}
    assert _suppressed(db) == {"quiet@example.com": "unsubscribed",
                               "reader2@example.com": "unsubscribed"}  # fmt: skip
    with db.connect() as conn:
        assert [r.recipient for r in conn.execute(select(outbox))] == ["jamie@example.com"]


def test_dry_run_says_what_would_happen_per_status_and_writes_nothing(db: Engine) -> None:
    out = _import("--from", "mailchimp", "--dry-run", str(EXPORTS / "mailchimp_subscribed.csv"))
    assert "would import 1 confirmed subscribers" in out and "would import 1 pending" in out
    assert "source status 'subscribed': 2" in out and "nothing was written" in out
    assert _people(db) == {}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("email,name\nx@example.kr,X\n", "line 1: Email Address: not a Mailchimp export"),
        (
            '"Email Address",OPTIN_TIME\nok@example.kr,2021-01-01 00:00:00\nbad,\n',
            "line 3: Email Address",
        ),
        ('"Email Address",CONFIRM_TIME\nok@example.kr,yesterday\n', "line 2: CONFIRM_TIME"),
        (
            '"Email Address",Status\nok@example.kr,subscribed\nb@example.kr,weird\n',
            "line 3: Status: unknown Mailchimp status",
        ),
        ('"Email Address"\n"' + "a" * 70_000 + '"\n', "line "),
    ],
)
def test_hostile_exports_are_named_errors_and_leave_nothing(
    db: Engine, tmp_path: Path, body: str, where: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(body, encoding="utf-8")
    result = runner.invoke(app, ["subscribers", "import", "--from", "mailchimp", str(bad)])
    assert result.exit_code == 1, result.output
    assert where in result.output and "nothing was imported" in result.output
    assert _people(db) == {}
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM consent_log")).scalar_one() == 0


def test_listmonk_bad_attributes_and_status_are_named(db: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,attributes,status\na@example.kr,,{oops,enabled\n", encoding="utf-8")
    result = runner.invoke(app, ["subscribers", "import", "--from", "listmonk", str(bad)])
    assert result.exit_code == 1 and "line 2: attributes: not JSON" in result.output
    bad.write_text("email,name,attributes,status\na@example.kr,,{},zombie\n", encoding="utf-8")
    result = runner.invoke(app, ["subscribers", "import", "--from", "listmonk", str(bad)])
    assert result.exit_code == 1 and "line 2: status: must be one of" in result.output


def test_unknown_source_is_a_usage_error(db: Engine) -> None:
    result = runner.invoke(app, ["subscribers", "import", "--from", "sendy", "x.csv"])
    assert result.exit_code == 2 and "--from: must be one of" in result.output


@pytest.mark.parametrize(("name", "tool"), [("mailchimp_subscribed.csv", "mailchimp"),
                                            ("listmonk.csv", "listmonk")])  # fmt: skip
def test_another_tools_export_without_from_says_which_from_reads_it(
    db: Engine, name: str, tool: str
) -> None:
    result = runner.invoke(app, ["subscribers", "import", str(EXPORTS / name)])
    assert result.exit_code == 2 and f"--from {tool}" in result.output
    assert _people(db) == {}


def test_an_older_list_never_resubscribes_who_left_or_was_removed(
    db: Engine, tmp_path: Path
) -> None:
    """The unsubscribe list first (a suppression only, no subscriber row), then an older
    export of the subscribed members that still lists them: they stay out. The same for a
    reader the operator removed."""
    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_unsubscribed.csv"))
    older = tmp_path / "older.csv"
    head, *_ = (EXPORTS / "mailchimp_subscribed.csv").read_text(encoding="utf-8").splitlines()
    older.write_text(
        head + "\n"
        'left@example.kr,Sora,Park,2,"2019-01-01 00:00:00",,"2019-01-01 00:01:00"'
        + ",,,,,,,,,,,,,\n",
        encoding="utf-8",
    )
    out = _import("--from", "mailchimp", str(older))
    assert "1 had unsubscribed or are suppressed here" in out
    assert "left@example.kr" not in _people(db)

    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    removed = runner.invoke(app, ["subscribers", "remove", "minsu.kim@example.kr"])
    assert removed.exit_code == 0, removed.output
    assert _suppressed(db)["minsu.kim@example.kr"] == "deleted"
    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    assert "minsu.kim@example.kr" not in _people(db)
