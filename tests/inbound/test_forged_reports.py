"""Forged bounces and complaints (issue 14 review): a report that names one of our readers
only by address, or by a Message-ID anyone could compute, is recorded and kept for the
operator, and changes nothing: no unsubscribe, no suppression, no count against the run, no
circuit breaker. A complaint sent again counts once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.store.inboundschema import digest_holds
from tests.inbound import mailkit
from tests.inbound.inboundkit import SentRow, inbound_env, sent_digest, status_of, suppressed

runner = CliRunner()
STRANGER_TO = "news@news.example.kr"  # our From address, no +TOKEN: what anyone can mail


@pytest.fixture
def rows(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[SentRow]:
    inbound_env(settings, tmp_path, monkeypatch, COMPLAINT_WARNING_RATE="0.1",
                COMPLAINT_HOLD_RATE="0.5")  # fmt: skip
    return sent_digest(engine, settings, 3)


def _stdin(mail: bytes) -> str:
    result = runner.invoke(app, ["inbound", "process", "-"], input=mail)
    assert result.exit_code == 0, result.output
    return result.output


def _held(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(r.reason) for r in conn.execute(select(digest_holds))]


def _status() -> dict[str, int]:
    result = runner.invoke(app, ["inbound", "status", "--json"])
    assert result.exit_code == 0, result.output
    total: dict[str, int] = {}
    for row in json.loads(result.output):
        for k, v in row.items():
            if isinstance(v, int):
                total[k] = total.get(k, 0) + v
    return total


def _history_complaints() -> str:
    out = runner.invoke(app, ["digest", "history", "morning"]).output.splitlines()
    return "\t".join(out[1].split("\t")[-2:])  # complaints, complaint rate


def test_forged_complaint_by_address_changes_nothing_and_is_kept(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    minji = rows[0].recipient
    for n in range(4):  # the attacker's repeats, each with a new Message-ID
        out = _stdin(mailkit.arf(STRANGER_TO, minji, message_id="<x@y>", mid=f"<f{n}@evil>"))
        assert f"complaint (unverified, not acted on; kept) claims {minji}" in out, out
    assert status_of(engine, minji) == "confirmed"
    assert suppressed(engine) == {}
    assert _held(engine) == []
    assert _history_complaints() == "0\t0.00%"
    counts = _status()
    assert (counts["complaint"], counts["unverified"], counts["matched"]) == (4, 4, 0)
    assert len(list((tmp_path / "unmatched" / "new").iterdir())) == 4


def test_made_up_dsn_by_address_or_our_message_id_suppresses_nobody(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    junho = rows[1]
    out = _stdin(mailkit.postfix_dsn(STRANGER_TO, junho.recipient, mid="<d1@evil>"))
    assert f"hard_bounce (unverified, not acted on; kept) claims {junho.recipient}" in out
    guessed = mailkit.postfix_dsn(STRANGER_TO, junho.recipient, message_id=junho.message_id,
                                  mid="<d2@evil>")  # fmt: skip
    assert "hard_bounce (unverified, not acted on; kept)" in _stdin(guessed)
    soft = mailkit.postfix_dsn(STRANGER_TO, junho.recipient, status="4.2.2", action="delayed",
                               mid="<d3@evil>")  # fmt: skip
    assert "soft_bounce (unverified, not acted on; kept)" in _stdin(soft)
    assert suppressed(engine) == {}
    assert status_of(engine, junho.recipient) == "confirmed"
    assert _status()["unverified"] == 3


def test_a_complaint_sent_again_counts_once_against_its_run(
    rows: list[SentRow], engine: Engine
) -> None:
    r = rows[2]
    for n in range(4):
        assert "complaint" in _stdin(mailkit.arf(r.verp, r.recipient, mid=f"<fbl{n}@isp>"))
    assert suppressed(engine) == {r.recipient: "complaint"}
    assert status_of(engine, r.recipient) == "unsubscribed"
    # 1 of 3 readers: 33 %, under complaint_hold_rate 50 % (4 of 3 before the fix).
    assert _history_complaints() == "1\t33.33%"
    assert _held(engine) == []
