"""`publisher inbound process`: DSNs, complaints, emailed unsubscribes and auto-replies from
files and standard input, each changing the right reader once, and forged ones nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.store.inboundschema import inbound_messages
from tests.inbound import mailkit
from tests.inbound.inboundkit import SentRow, inbound_env, sent_digest, status_of, suppressed

runner = CliRunner()


@pytest.fixture
def rows(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[SentRow]:
    inbound_env(settings, tmp_path, monkeypatch)
    return sent_digest(engine, settings, 6)


def _process(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(app, ["inbound", "process", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_hard_bounce_suppresses_the_row_recipient_once(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    r = rows[0]
    out = _process(tmp_path, "dsn.eml", mailkit.postfix_dsn(r.verp, r.recipient))
    assert "hard_bounce" in out and r.recipient in out
    assert suppressed(engine) == {r.recipient: "hard_bounce"}
    again = _process(tmp_path, "dsn.eml", mailkit.postfix_dsn(r.verp, r.recipient))
    assert "already processed" in again
    with engine.connect() as conn:
        assert len(conn.execute(select(inbound_messages)).all()) == 1


def test_forged_token_matches_nothing_and_is_kept(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    r = rows[1]
    head, _, mac = r.verp.partition("+")[2].partition("@")[0].partition("-")
    forged = f"bounces+{head}-{'a' * len(mac)}@news.example.kr"
    out = _process(tmp_path, "forged.eml", mailkit.postfix_dsn(forged, r.recipient))
    assert "unmatched, kept" in out
    assert suppressed(engine) == {}
    kept = list((tmp_path / "unmatched" / "new").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == mailkit.postfix_dsn(forged, r.recipient)


def test_bounce_without_envelope_matched_by_message_id_is_only_kept(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    # Our Message-IDs are a hash of a guessable key: anyone could write this bounce.
    r = rows[2]
    dsn = mailkit.exim_bounce(r.recipient, message_id=r.message_id)
    shown = _process(tmp_path, "exim.eml", dsn)
    assert f"hard_bounce (unverified, not acted on; kept) claims {r.recipient}" in shown
    assert suppressed(engine) == {}
    assert len(list((tmp_path / "unmatched" / "new").iterdir())) == 1


def test_soft_bounces_suppress_at_the_threshold(
    rows: list[SentRow], engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_BOUNCE_SCORE_THRESHOLD", "3")
    r = rows[3]
    for i in range(3):
        dsn = mailkit.postfix_dsn(r.verp, r.recipient, status="4.2.2", action="delayed",
                                  mid=f"<soft{i}@mx>")  # fmt: skip
        assert "soft_bounce" in _process(tmp_path, f"soft{i}.eml", dsn)
        # The same notification again counts once.
        _process(tmp_path, f"soft{i}.eml", dsn)
        assert (r.recipient in suppressed(engine)) == (i == 2)
    assert suppressed(engine) == {r.recipient: "bounce_score"}


def test_complaint_unsubscribes_and_suppresses_everything(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    r = rows[4]
    out = _process(tmp_path, "arf.eml", mailkit.arf(r.verp, "redacted@example.kr"))
    assert "complaint" in out and r.recipient in out
    assert status_of(engine, r.recipient) == "unsubscribed"
    assert suppressed(engine) == {r.recipient: "complaint"}


def test_emailed_unsubscribe_from_stdin_exits_0(rows: list[SentRow], engine: Engine) -> None:
    r = rows[5]
    mail = mailkit.unsubscribe_mail(r.recipient, r.unsubscribe_token)
    result = runner.invoke(app, ["inbound", "process", "-"], input=mail)
    assert result.exit_code == 0, result.output
    assert "unsubscribe" in result.output
    assert status_of(engine, r.recipient) == "unsubscribed"
    assert suppressed(engine) == {r.recipient: "unsubscribed"}


def test_unsubscribe_token_in_the_body_and_a_bad_token(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    r0, r1 = rows[0], rows[1]
    bad = r0.unsubscribe_token[:-3] + "xyz"
    out = _process(tmp_path, "bad.eml", mailkit.unsubscribe_mail(r0.recipient, bad))
    assert "unmatched" in out and status_of(engine, r0.recipient) == "confirmed"
    body = mailkit.unsubscribe_mail(r1.recipient, r1.unsubscribe_token, in_body=True)
    assert "unsubscribe" in _process(tmp_path, "body.eml", body)
    assert status_of(engine, r1.recipient) == "unsubscribed"


def test_auto_replies_change_nothing(rows: list[SentRow], engine: Engine, tmp_path: Path) -> None:
    assert "auto_reply" in _process(tmp_path, "vac.eml", mailkit.vacation(rows[0].verp))
    assert "auto_reply" in _process(tmp_path, "ch.eml", mailkit.challenge(rows[0].verp))
    assert suppressed(engine) == {}
    assert status_of(engine, rows[0].recipient) == "confirmed"


def test_status_counts_per_source_and_day(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    _process(tmp_path, "dsn.eml", mailkit.postfix_dsn(rows[0].verp, rows[0].recipient))
    _process(tmp_path, "junk.eml", mailkit.junk())
    runner.invoke(app, ["inbound", "process", "-"], input=mailkit.vacation(rows[1].verp))
    result = runner.invoke(app, ["inbound", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t") == ["day", "source", "processed", "matched", "unverified",
                                    "hard_bounce",
                                    "soft_bounce", "complaint", "unsubscribe", "auto_reply",
                                    "unmatched"]  # fmt: skip
    by_source = {ln.split("\t")[1]: ln.split("\t")[2:] for ln in lines[1:]}
    assert by_source["file"] == ["2", "1", "0", "1", "0", "0", "0", "0", "1"]
    assert by_source["stdin"] == ["1", "1", "0", "0", "0", "0", "0", "1", "0"]


def test_stdin_that_cannot_be_stored_exits_75_for_the_mta(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    blocked = tmp_path / "ro"
    blocked.write_text("a file where the database folder should be")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env |= {"PUBLISHER_DATABASE_URL": f"sqlite:///{blocked}/sub/p.db",
            "PUBLISHER_SECRET_KEY": "test-secret-key-0123456789",
            "PUBLISHER_INBOUND_UNMATCHED_DIR": str(tmp_path / "unmatched")}  # fmt: skip
    cmd = [sys.executable, "-m", "publisher", "inbound", "process", "-"]
    done = subprocess.run(cmd, input=mailkit.junk(), env=env, capture_output=True, timeout=120)
    assert done.returncode == 75, done.stderr
    assert b"database_url" in done.stderr and b"Traceback" not in done.stderr


def test_a_maildir_folder_given_as_a_file_says_what_to_do(
    rows: list[SentRow], tmp_path: Path
) -> None:
    box = tmp_path / "bounces"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    result = runner.invoke(app, ["inbound", "process", str(box)])
    assert result.exit_code == 2
    assert "a Maildir folder, not a message" in result.output and "inbound poll" in result.output
