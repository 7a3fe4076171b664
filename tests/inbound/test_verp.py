"""VERP: every message leaves with its own signed envelope sender, which names its row."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from publisher.core import tokens, verp
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.delivery.configured import build_drain
from publisher.store.schema import outbox
from tests.outboxkit import fill
from tests.smtpserver import SmtpServer

SECRET = "test-secret-key-0123456789"


@pytest.mark.asyncio
async def test_each_message_has_its_own_envelope_sender_naming_its_row(
    engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    server = await SmtpServer().start()
    s = settings.model_copy(
        update={"smtp_url": server.url, "bounce_address": "bounces@news.example.kr"}
    )
    fill(engine, clock, 20)
    report = await build_drain(s, engine, clock).run(until_empty=True)
    await server.stop()
    assert report.sent == 20
    with engine.connect() as conn:
        rows = {r.recipient: r.id for r in conn.execute(select(outbox.c.id, outbox.c.recipient))}
    assert len(set(server.record.senders)) == 20
    for (rcpt, _data), sender in zip(server.record.messages, server.record.senders, strict=True):
        local, _, domain = sender.partition("@")
        assert domain == "news.example.kr" and local.startswith("bounces+")
        assert len(local) <= 64
        assert verp.outbox_id(sender, SECRET) == rows[rcpt]
        # A mail system that folds the case on the way back still matches.
        assert verp.outbox_id(sender.upper(), SECRET) == rows[rcpt]


def test_forged_cut_and_foreign_tokens_name_nothing() -> None:
    good = verp.address("bounces@news.example.kr", SECRET, 42)
    assert verp.outbox_id(good, SECRET) == 42
    local, _, domain = good.partition("@")
    head, _, mac = local.partition("+")[2].partition("-")
    assert verp.outbox_id(f"bounces+{int(head, 36) + 1:x}-{mac}@{domain}", SECRET) is None
    assert verp.outbox_id(f"bounces+{head}-{mac[:-1]}@{domain}", SECRET) is None
    assert verp.outbox_id(good, "another-secret-key-0123") is None
    assert verp.outbox_id("bounces@news.example.kr", SECRET) is None
    assert verp.outbox_id("", SECRET) is None
    with pytest.raises(tokens.TokenError):
        tokens.read_short(SECRET, "bounce", "zzzzzzzzzzzzzzzzzzzz-abc")


def test_without_bounce_address_the_return_path_or_from_address_is_the_base(
    settings: Settings,
) -> None:
    from publisher.delivery.configured import bounce_base

    assert bounce_base(settings) == "news@news.example.kr"
    s = settings.model_copy(update={"delivery_return_path": "rp@news.example.kr"})
    assert bounce_base(s) == "rp@news.example.kr"


def test_a_token_whose_mac_is_not_ascii_names_nothing() -> None:
    # A bounce's recipient is any text (SMTPUTF8, a decoded header): compare_digest raised
    # TypeError on a non-ASCII MAC instead of calling the token forged.
    good = verp.address("bounces@news.example.kr", SECRET, 42)
    local, _, domain = good.rpartition("@")
    head = local.rpartition("+")[2].partition("-")[0]
    for mac in ("é" * 13, "한", "\ud800"):
        assert verp.outbox_id(f"bounces+{head}-{mac}@{domain}", SECRET) is None
    assert verp.outbox_id(good, SECRET) == 42
