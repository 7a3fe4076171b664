"""Inbound sources: a Maildir (`publisher inbound poll`) and an IMAP mailbox on a real
Dovecot over TLS (the daemon's `inbound` job). Messages move only after their effect is
committed; what names nothing is kept in the unmatched folder; a second pass applies nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.app import App
from publisher.cli import app
from publisher.core.clock import FixedClock
from publisher.core.config import Settings, load_settings
from publisher.core.inboundsettings import ImapInbound
from publisher.daemon.jobtable import JobTable
from publisher.inbound.maildir import ensure
from tests.digestkit import NOW
from tests.inbound import mailkit
from tests.inbound.dovecotkit import Dovecot
from tests.inbound.inboundkit import SentRow, inbound_env, sent_digest, status_of, suppressed

runner = CliRunner()


def _mixed(rows: list[SentRow]) -> list[bytes]:
    return [
        mailkit.postfix_dsn(rows[0].verp, rows[0].recipient),
        mailkit.arf(rows[1].verp, rows[1].recipient),
        mailkit.unsubscribe_mail(rows[2].recipient, rows[2].unsubscribe_token),
        mailkit.vacation(rows[3].verp),
        mailkit.junk(),
    ]


def _assert_effects(engine: Engine, rows: list[SentRow]) -> None:
    assert suppressed(engine) == {
        rows[0].recipient: "hard_bounce", rows[1].recipient: "complaint",
        rows[2].recipient: "unsubscribed",
    }  # fmt: skip
    assert [status_of(engine, r.recipient) for r in rows[:4]] == [
        "confirmed", "unsubscribed", "unsubscribed", "confirmed"
    ]  # fmt: skip


def test_maildir_messages_move_after_their_effect(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = ensure(tmp_path / "bounces")
    sources = [{"kind": "maildir", "name": "local", "path": str(box)}]
    inbound_env(settings, tmp_path, monkeypatch, INBOUND_SOURCES=json.dumps(sources))
    rows = sent_digest(engine, settings, 5)
    for i, data in enumerate(_mixed(rows)):
        (box / "new" / f"100{i}.M1P1.host").write_bytes(data)
    result = runner.invoke(app, ["inbound", "poll"])
    assert result.exit_code == 0, result.output
    assert "local: 5 processed, 1 unmatched" in result.output
    _assert_effects(engine, rows)
    assert list((box / "new").iterdir()) == []
    assert sorted(p.name for p in (box / "cur").iterdir()) == [
        f"100{i}.M1P1.host:2,S" for i in range(4)
    ]
    kept = list((box / ".unmatched" / "new").iterdir())
    assert [p.read_bytes() for p in kept] == [mailkit.junk()]
    # A crash after the commit and before the move: the message is back in new/.
    (box / "cur" / "1000.M1P1.host:2,S").rename(box / "new" / "1000.M1P1.host")
    again = runner.invoke(app, ["inbound", "poll"])
    assert "local: 1 processed, 0 unmatched" in again.output
    assert (box / "cur" / "1000.M1P1.host:2,S").exists()
    status = runner.invoke(app, ["inbound", "status", "--json"])
    (day,) = json.loads(status.output)
    assert day["source"] == "maildir:local" and day["processed"] == 5


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    try:
        yield server
    finally:
        server.stop()


def test_imap_mailbox_over_tls_polled_by_the_daemon_job(
    engine: Engine, settings: Settings, tmp_path: Path, dovecot: Dovecot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    source = ImapInbound(
        kind="imap", name="fbl", host="127.0.0.1", port=dovecot.port,
        username=dovecot.username, password=dovecot.password, ca_file=str(dovecot.cert),
    )  # fmt: skip
    inbound_env(settings, tmp_path, monkeypatch,
                INBOUND_SOURCES=json.dumps([source.model_dump()]))  # fmt: skip
    rows = sent_digest(engine, settings, 5)
    for data in _mixed(rows):
        dovecot.deliver(data)
    table = JobTable(App(settings=load_settings(), clock=FixedClock(NOW)))
    asyncio.run(table.inbound())
    _assert_effects(engine, rows)
    kept = list((dovecot.folder("unmatched") / "new").iterdir()) + list(
        (dovecot.folder("unmatched") / "cur").iterdir()
    )
    assert [p.read_bytes().replace(b"\r\n", b"\n") for p in kept] == [
        mailkit.junk().replace(b"\r\n", b"\n")
    ]
    metrics = table.metrics.render()[0].decode()
    assert 'publisher_inbound_messages_total{outcome="complaint",source="imap"} 1.0' in metrics
    assert 'publisher_inbound_messages_total{outcome="unmatched",source="imap"} 1.0' in metrics
    # Processed messages are seen now: the next poll reads nothing.
    asyncio.run(table.inbound())
    assert 'outcome="hard_bounce",source="imap"} 1.0' in table.metrics.render()[0].decode()


def test_imap_refuses_a_certificate_it_does_not_trust(
    engine: Engine, settings: Settings, dovecot: Dovecot
) -> None:
    from publisher.inbound.sources import poll

    source = ImapInbound(kind="imap", name="x", host="127.0.0.1", port=dovecot.port,
                         username=dovecot.username, password=dovecot.password)  # fmt: skip
    dovecot.deliver(mailkit.junk())
    report = poll(settings.model_copy(update={"inbound_sources": [source]}), engine, now=NOW)
    assert "x" in report.failed and "CERTIFICATE_VERIFY_FAILED" in report.failed["x"]
    assert len(list((dovecot.maildir / "new").iterdir())) == 1


def test_preflight_names_an_inbound_maildir_that_is_not_a_folder(
    settings: Settings, tmp_path: Path
) -> None:
    from publisher.core.inboundsettings import MaildirInbound
    from publisher.daemon.preflight import inbound_folders

    (tmp_path / "file").write_text("x")
    s = settings.model_copy(update={
        "inbound_sources": [MaildirInbound(kind="maildir", name="a", path=tmp_path / "file")],
        "inbound_unmatched_dir": tmp_path / "unmatched",
    })  # fmt: skip
    assert inbound_folders(s) == [f"inbound_sources[0].path: {tmp_path / 'file'}: not a folder"]


def test_the_daemon_schedules_the_inbound_job(settings: Settings) -> None:
    from publisher.core.schedules import Schedules

    table = JobTable(App(settings=settings, clock=FixedClock(NOW)))
    specs = {spec.job_id: spec for spec in table.jobs(Schedules())}
    assert "inbound" in specs
    assert Schedules().jobs.inbound.every == "60s"


def test_a_mistyped_maildir_path_fails_loudly_and_is_not_created(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in inbound_sources' path must not become an empty Maildir nobody delivers to."""
    missing = tmp_path / "nomaildir"
    sources = [{"kind": "maildir", "name": "missing", "path": str(missing)}]
    inbound_env(settings, tmp_path, monkeypatch, INBOUND_SOURCES=json.dumps(sources))
    result = runner.invoke(app, ["inbound", "poll"])
    assert result.exit_code == 1
    assert "missing: failed (NotAMaildir:" in result.output and "no new/ folder" in result.output
    assert not missing.exists()


def test_a_mailbox_that_cannot_be_read_fails_the_daemon_job(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only a log line: the job's `publisher_job_last_success` gauge (what `status` and
    alerts read) says the inbound job failed."""
    sources = [{"kind": "maildir", "name": "typo", "path": str(tmp_path / "nomaildir")}]
    inbound_env(settings, tmp_path, monkeypatch, INBOUND_SOURCES=json.dumps(sources))
    table = JobTable(App(settings=load_settings(), clock=FixedClock(NOW)))
    asyncio.run(table.inbound())
    assert 'publisher_job_last_success{job="inbound"} 0.0' in table.metrics.render()[0].decode()
