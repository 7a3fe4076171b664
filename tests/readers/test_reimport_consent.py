"""Importing the same subscribers again adds nothing to the consent log; a real change of
consent (status, sections, frequency, the source's status or dates) is still recorded once.

Through the CLI on a real SQLite store; the log is read back as the operator reads it
(`subscribers export --consent`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from publisher.cli import app
from publisher.store.consentschema import advertising_consent
from publisher.store.db import make_engine
from publisher.store.schema import subscribers
from tests.digestkit import cli_store

EXPORTS = Path(__file__).resolve().parents[1] / "consent" / "exports"
runner = CliRunner()
HEADER = "email,name,sections,frequency,status\n"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    return make_engine(f"sqlite:///{cli_store(tmp_path, monkeypatch)}")


def _import(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["subscribers", "import", *args])
    assert result.exit_code == code, result.output
    return result.output


def consent_log() -> list[dict[str, Any]]:
    """The consent log as `subscribers export --consent --format jsonl` prints it."""
    result = runner.invoke(app, ["subscribers", "export", "--consent", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def _events(log: list[dict[str, Any]], email: str) -> list[str]:
    return [row["event"] for row in log if row["email"] == email]


def _csv(tmp_path: Path, *rows: str, name: str = "list.csv") -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return str(path)


TOOL_EXPORTS = [
    ("mailchimp", "mailchimp_subscribed.csv"),
    ("mailchimp", "mailchimp_unsubscribed.csv"),
    ("mailchimp", "mailchimp_cleaned.csv"),
    ("listmonk", "listmonk.csv"),
    ("listmonk", "listmonk_list.csv"),
    ("ghost", "ghost.csv"),
    ("substack", "substack.csv"),
]


@pytest.mark.parametrize(("tool", "name"), TOOL_EXPORTS)
def test_importing_another_tools_export_twice_logs_it_once(
    db: Engine, tool: str, name: str
) -> None:
    _import("--from", tool, str(EXPORTS / name))
    first = consent_log()
    assert first, "the first import is logged"
    _import("--from", tool, str(EXPORTS / name))
    assert consent_log() == first


def test_every_export_again_in_any_order_adds_no_row(db: Engine) -> None:
    """The whole move done twice (and the second time in reverse order): the log is as after
    the first pass, however the files are ordered."""
    for tool, name in TOOL_EXPORTS:
        _import("--from", tool, str(EXPORTS / name))
    first = consent_log()
    for tool, name in reversed(TOOL_EXPORTS):
        _import("--from", tool, str(EXPORTS / name))
    assert consent_log() == first


def test_our_csv_again_adds_no_row_even_with_a_name_fixed(db: Engine, tmp_path: Path) -> None:
    rows = ("a@example.kr,A,economy;politics,weekly,confirmed", "b@example.kr,B,,daily,pending")
    _import(_csv(tmp_path, *rows))
    first = consent_log()
    assert [r["event"] for r in first] == ["imported", "imported"]
    out = _import(_csv(tmp_path, *rows))
    assert "added 0, updated 0, unchanged 2" in out
    # A name is not consent: the row is updated, the log is not.
    renamed = ("a@example.kr,A. Kim,politics;economy,weekly,confirmed", rows[1])
    out = _import(_csv(tmp_path, *renamed))
    assert "updated 1, unchanged 1" in out
    assert consent_log() == first
    # Nor does a pending row for a reader who confirmed meanwhile (they stay confirmed).
    _import(_csv(tmp_path, "a@example.kr,A. Kim,economy;politics,weekly,pending"))
    assert consent_log() == first


def test_subscribers_add_with_only_a_new_name_adds_no_row(db: Engine) -> None:
    """`subscribers add` (the one-row import of the CLI) with only a new name: no row."""
    added = runner.invoke(app, ["subscribers", "add", "c@example.kr", "--sections", "economy"])
    assert added.exit_code == 0, added.output
    first = consent_log()
    again = runner.invoke(app, ["subscribers", "add", "c@example.kr", "--name", "C"])
    assert again.exit_code == 0 and "updated: c@example.kr" in again.output
    assert consent_log() == first


@pytest.mark.parametrize(
    ("row", "change"),
    [
        ("a@example.kr,A,economy,weekly,confirmed", "new sections"),
        ("a@example.kr,A,economy;politics,daily,confirmed", "new frequency"),
    ],
)
def test_a_real_change_in_our_csv_is_logged_once(
    db: Engine, tmp_path: Path, row: str, change: str
) -> None:
    _import(_csv(tmp_path, "a@example.kr,A,economy;politics,weekly,confirmed"))
    _import(_csv(tmp_path, row))
    _import(_csv(tmp_path, row))
    log = consent_log()
    assert _events(log, "a@example.kr") == ["imported", "imported"], change
    assert log[-1]["detail"]["sections"] == row.split(",")[2].split(";")


def test_pending_then_confirmed_is_logged_once(db: Engine, tmp_path: Path) -> None:
    _import(_csv(tmp_path, "p@example.kr,P,,daily,pending"))
    _import(_csv(tmp_path, "p@example.kr,P,,daily,confirmed"))
    _import(_csv(tmp_path, "p@example.kr,P,,daily,confirmed"))
    log = consent_log()
    assert _events(log, "p@example.kr") == ["imported", "imported"]
    assert [r["detail"]["status"] for r in log] == ["pending", "confirmed"]


def test_new_evidence_from_the_source_is_logged(db: Engine, tmp_path: Path) -> None:
    """listmonk: the same reader, now with a confirmed subscription; Ghost: a member who
    turned emails off (a withdrawal); Mailchimp: a later confirmation time."""
    _import("--from", "listmonk", str(EXPORTS / "listmonk.csv"))
    _import("--from", "listmonk", str(EXPORTS / "listmonk_list.csv"))
    assert _events(consent_log(), "hana@example.kr") == ["imported", "imported", "confirmed"]

    _import("--from", "ghost", str(EXPORTS / "ghost.csv"))
    left = (
        (EXPORTS / "ghost.csv")
        .read_text(encoding="utf-8")
        .replace(",Jamie,,true,", ",Jamie,,false,")
    )
    (tmp_path / "ghost_later.csv").write_text(left, encoding="utf-8")
    _import("--from", "ghost", str(tmp_path / "ghost_later.csv"))
    _import("--from", "ghost", str(tmp_path / "ghost_later.csv"))
    withdrawn = [r for r in consent_log() if r["detail"].get("source") == "ghost"]
    jamie = [(r["event"], r["detail"]["source_status"]) for r in withdrawn
             if r["address_hash"] == withdrawn[0]["address_hash"]]  # fmt: skip
    assert jamie == [("imported", "subscribed"), ("imported", "unsubscribed"),
                     ("unsubscribed", "unsubscribed")]  # fmt: skip

    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    later = (EXPORTS / "mailchimp_subscribed.csv").read_text(encoding="utf-8")
    later = later.replace('"2021-03-02 01:17:40",203', '"2024-05-05 05:05:05",203')
    (tmp_path / "mc_later.csv").write_text(later, encoding="utf-8")
    _import("--from", "mailchimp", str(tmp_path / "mc_later.csv"))
    _import("--from", "mailchimp", str(tmp_path / "mc_later.csv"))
    minsu = [
        (r["event"], r["at"][:10]) for r in consent_log() if r["email"] == "minsu.kim@example.kr"
    ]
    assert minsu == [("imported", "2021-03-02"), ("confirmed", "2021-03-02"),
                     ("imported", "2021-03-02"), ("confirmed", "2024-05-05")]  # fmt: skip


def _lapse(db: Engine, email: str) -> None:
    with db.begin() as conn:
        sid = conn.execute(
            select(subscribers.c.id).where(subscribers.c.email == email)
        ).scalar_one()
        conn.execute(update(advertising_consent)
                     .where(advertising_consent.c.subscriber_id == sid)
                     .values(lapsed_at=conn.execute(select(advertising_consent.c.consented_at))
                             .scalar_one()))  # fmt: skip


def _lapsed(db: Engine) -> list[object]:
    with db.connect() as conn:
        return list(conn.execute(select(advertising_consent.c.lapsed_at)).scalars())


def test_a_reimport_does_not_renew_lapsed_advertising_consent(db: Engine, tmp_path: Path) -> None:
    """A reader whose advertising consent lapsed (no answer to the reconfirmation) is not
    made to consent again by an old export imported a second time, nor by a name fix."""
    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    _lapse(db, "minsu.kim@example.kr")
    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    assert _lapsed(db) != [None]
    _import(_csv(tmp_path, "minsu.kim@example.kr,Minsu K.,,daily,confirmed"))
    assert _lapsed(db) != [None]


def test_new_evidence_from_a_tool_does_not_restore_lapsed_advertising_consent(
    db: Engine, tmp_path: Path
) -> None:
    """Another export of the same reader with a later confirmation date is logged (it is new
    evidence), but only our own reconfirmation gives advertising consent back once it lapsed."""
    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    _lapse(db, "minsu.kim@example.kr")
    later = (EXPORTS / "mailchimp_subscribed.csv").read_text(encoding="utf-8")
    later = later.replace('"2021-03-02 01:17:40",203', '"2021-03-02 01:17:41",203')
    (tmp_path / "mc_later.csv").write_text(later, encoding="utf-8")
    _import("--from", "mailchimp", str(tmp_path / "mc_later.csv"))
    assert None not in _lapsed(db)  # before: the lapse was wiped, consent backdated to 2021


def test_a_section_change_after_a_lapse_is_not_logged_as_advertising_consent(
    db: Engine, tmp_path: Path
) -> None:
    _import("--from", "mailchimp", str(EXPORTS / "mailchimp_subscribed.csv"))
    _lapse(db, "minsu.kim@example.kr")
    _import(_csv(tmp_path, "minsu.kim@example.kr,Minsu,politics,daily,confirmed"))
    last = [r for r in consent_log() if r["email"] == "minsu.kim@example.kr"][-1]
    assert last["event"] == "imported" and last["advertising"] is False
    assert None not in _lapsed(db)


def test_a_list_does_not_bring_back_a_reader_whose_data_was_deleted(
    db: Engine, tmp_path: Path
) -> None:
    """After `subscribers remove` (or the reader's own "delete my data"), an old list with
    their row is refused for that row, with the reason; the others are imported."""
    listed = _csv(
        tmp_path, "gone@example.kr,G,,daily,confirmed", "kept@example.kr,K,,daily,confirmed"
    )
    _import(listed)
    result = runner.invoke(app, ["subscribers", "remove", "gone@example.kr"])
    assert result.exit_code == 0, result.output
    out = _import(listed, code=1)
    assert "line 2: email: their data was deleted; only a new sign-up adds them" in out
    with db.connect() as conn:
        emails = set(conn.execute(select(subscribers.c.email)).scalars())
    assert emails == {"kept@example.kr"}  # before: gone@example.kr was back, as confirmed
