"""Hostile inbound mail: a 50 MB message, broken MIME, no headers, a bounce of a bounce, a
charset Python does not know. Each gets a clear outcome (kept as unmatched, or understood),
nothing crashes the job, nothing is lost, and a big message is never read into memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.inbound.maildir import ensure
from publisher.store.inboundschema import inbound_messages
from tests.inbound import mailkit
from tests.inbound.inboundkit import SentRow, inbound_env, sent_digest, suppressed

runner = CliRunner()
BIG = 50 * 1024 * 1024


def _big_message(path: Path) -> None:
    with open(path, "wb") as f:
        f.write(b"From: x@example.com\r\nSubject: huge\r\nMessage-ID: <big@x>\r\n\r\n")
        block = b"A" * 76 + b"\r\n"
        for _ in range(BIG // len(block)):
            f.write(block)


@pytest.fixture
def rows(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[SentRow]:
    box = ensure(tmp_path / "box")
    inbound_env(settings, tmp_path, monkeypatch, INBOUND_SOURCES=json.dumps(
        [{"kind": "maildir", "name": "box", "path": str(box)}]))  # fmt: skip
    return sent_digest(engine, settings, 3)


def _details(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        q = select(inbound_messages.c.outcome, inbound_messages.c.detail)
        return {d: o for o, d in conn.execute(q)}


def test_a_50_mb_message_is_kept_unread(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    box = tmp_path / "box"
    _big_message(box / "new" / "1.big.host")
    tracemalloc.start()
    try:
        result = runner.invoke(app, ["inbound", "poll"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0 and "box: 1 processed, 1 unmatched" in result.output
    assert peak < 15 * 1024 * 1024, peak  # at most inbound_max_bytes (10 MiB) + 1 read
    (kept,) = (box / ".unmatched" / "new").iterdir()
    assert kept.stat().st_size > BIG
    assert any("over inbound_max_bytes" in d for d in _details(engine))


def test_a_50_mb_message_on_stdin_is_kept_whole(rows: list[SentRow], tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    _big_message(path)
    with open(path, "rb") as f:  # the real entry point, as a Postfix pipe runs it
        done = subprocess.run([sys.executable, "-m", "publisher", "inbound", "process", "-"],
                              stdin=f, capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"unmatched" in done.stdout
    (kept,) = (tmp_path / "unmatched" / "new").iterdir()
    assert kept.stat().st_size == path.stat().st_size
    assert list((tmp_path / "unmatched" / "tmp").iterdir()) == []


BROKEN_MIME = (
    b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\nMessage-ID: <b1@mx>\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="nope\r\n\r\n'
    b"--nope\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n"
    b"\r\n!!!not base64!!!\r\n--nope"
)
NO_HEADERS = b"\r\n\r\njust a body, no header at all\r\n"
UNKNOWN_CHARSET_SUBJECT = (
    b"From: a@example.com\r\nSubject: =?x-no-such-charset?q?hello?=\r\nMessage-ID: <cs@x>\r\n"
    b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n\xff\xfe body\r\n"
)


def test_broken_mime_no_headers_and_unknown_charsets(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    box = tmp_path / "box"
    r = rows[0]
    samples = {
        "broken": BROKEN_MIME, "noheaders": NO_HEADERS, "empty": b"",
        "charset": UNKNOWN_CHARSET_SUBJECT, "binary": bytes(range(256)) * 100,
        "dsn-charset": mailkit.postfix_dsn(r.verp, r.recipient, charset="x-no-such-charset"),
    }  # fmt: skip
    for name, data in samples.items():
        (box / "new" / f"{name}.host").write_bytes(data)
    result = runner.invoke(app, ["inbound", "poll"])
    assert result.exit_code == 0, result.output
    assert "box: 6 processed, 5 unmatched" in result.output
    assert suppressed(engine) == {r.recipient: "hard_bounce"}  # the DSN is understood
    kept = sorted(p.name for p in (box / ".unmatched" / "new").iterdir())
    assert kept == sorted(f"{n}.host" for n in samples if n != "dsn-charset")
    assert "no headers" in _details(engine)


def test_a_bounce_of_a_bounce_suppresses_nobody(
    rows: list[SentRow], engine: Engine, tmp_path: Path
) -> None:
    r = rows[1]
    # Our bounce address itself bounced (the DSN of a DSN): the failed recipient is ours.
    double = mailkit.postfix_dsn("postmaster@news.example.kr", r.verp, mid="<dd@mx>")
    path = tmp_path / "double.eml"
    path.write_bytes(double)
    result = runner.invoke(app, ["inbound", "process", str(path)])
    assert result.exit_code == 0 and "unmatched, kept" in result.output, result.output
    assert suppressed(engine) == {}
