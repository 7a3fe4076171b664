"""NUL bytes in mail we receive (and in a webhook's JSON, as ``\\u0000``): PostgreSQL refuses
them in text, and one stranger's message failing on it stopped the whole mailbox pass, the
genuine bounces beside it included, on every poll. Now an address or a Message-ID holding
one is dropped, other text loses it, and the pass goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.config import Settings
from publisher.inbound.classify import Verdict
from publisher.inbound.maildir import ensure
from publisher.store.db import make_engine
from publisher.store.migrate import upgrade
from tests.inbound import mailkit
from tests.inbound.inboundkit import inbound_env, sent_digest, suppressed

runner = CliRunner()


def test_a_verdict_without_nul_keeps_what_is_whole() -> None:
    v = Verdict(
        "hard_bounce", reported=("a\0b@example.kr", "c@example.kr"), envelope=("x\0@y",),
        message_ids=("<m\0@x>", "<n@x>"), token="t\0ok", detail="d\0e",
    )  # fmt: skip
    assert v.clean() == Verdict(
        "hard_bounce", reported=("c@example.kr",), message_ids=("<n@x>",), token="tok",
        detail="de",
    )  # fmt: skip
    clean = Verdict("complaint", reported=("c@example.kr",))
    assert clean.clean() is clean


@pytest.fixture
def pg_engine(pg_url: str) -> Engine:
    engine = make_engine(pg_url)
    upgrade(engine)
    return engine


@pytest.mark.postgres
def test_a_mailbox_pass_goes_on_past_nul_bytes(
    pg_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings.model_copy(update={"database_url": str(pg_engine.url.render_as_string(False))})
    rows = sent_digest(pg_engine, s, 2)
    box = ensure(tmp_path / "box")
    inbound_env(s, tmp_path, monkeypatch, INBOUND_SOURCES=json.dumps(
        [{"kind": "maildir", "name": "box", "path": str(box)}]))  # fmt: skip
    hostile = [
        mailkit.arf("x\0@evil.example", "c\0@example.kr", mid="<arf\0@fbl>"),
        mailkit.exim_bounce("z\0@example.kr", message_id="<a\0b@x>"),
        b"From: a\0@b\r\nSubject: unsubscribe abc\0.defghijkl\r\nMessage-ID: <q\0@x>\r\n"
        b"\r\nhi\0\r\n",
    ]
    for n, data in enumerate(hostile):
        (box / "new" / f"{n}.hostile.host").write_bytes(data)
    genuine = rows[1]
    dsn = mailkit.postfix_dsn(genuine.verp, genuine.recipient)
    (box / "new" / "9.genuine.host").write_bytes(dsn)
    result = runner.invoke(app, ["inbound", "poll"])
    assert result.exit_code == 0, result.output
    assert "box: 4 processed" in result.output, result.output
    assert suppressed(pg_engine) == {genuine.recipient: "hard_bounce"}
    assert not list((box / "new").iterdir())
    pg_engine.dispose()
