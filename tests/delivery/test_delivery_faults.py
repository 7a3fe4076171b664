"""The drain under faults (issue 12), against a real aiosmtpd on 127.0.0.1 and real SQLite:
what the relay accepted is counted against what the outbox says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from publisher.core.clock import FixedClock, SystemClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.drainstore import UNANSWERED
from publisher.delivery.mailer import Mailer
from publisher.store import suppressions as store_suppressions
from publisher.store.schema import outbox
from tests.outboxkit import fill, statuses, suppressed
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


async def _until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Poll (without a fixed sleep) until ``condition`` holds, or fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.005)


def _rows(engine: Engine) -> list[tuple[str, int, str | None]]:
    with engine.connect() as conn:
        q = select(outbox.c.status, outbox.c.attempts, outbox.c.last_reply).order_by(outbox.c.id)
        return [(s, a, r) for s, a, r in conn.execute(q)]


def _drain(engine: Engine, url: str, *, pool: int = 2, **cfg: object) -> Drain:
    """A drain on the system clock (leases are wall-clock time here)."""
    mailer = Mailer(url, pool_size=pool, connect_timeout=5, command_timeout=5, data_timeout=10)
    config = DeliverConfig(
        sender="bounces@news.example.kr",
        pool_size=pool,
        mark_batch=10,
        **cfg,  # type: ignore[arg-type]
    )
    return Drain(engine, mailer, SystemClock(), config=config)


# --- 1. a refused return path suppresses nobody ---


@pytest.mark.parametrize("pipelining", [True, False])
async def test_553_518_at_mail_from_pauses_and_suppresses_nobody(
    engine: Engine,
    clock: FixedClock,
    smtpd: SmtpServer,
    make_drain: Callable[..., Drain],
    caplog: pytest.LogCaptureFixture,
    pipelining: bool,
) -> None:
    smtpd.behaviour.pipelining = pipelining
    smtpd.behaviour.mail_reply = lambda _s: "553 5.1.8 Sender address rejected: Domain not found"
    fill(engine, clock, 200)
    with caplog.at_level(logging.ERROR, logger="publisher.delivery.drain"):
        report = await make_drain(smtpd.url, pool=4).run()
    assert smtpd.record.messages == []
    assert suppressed(engine) == []  # nobody suppressed
    assert "failed" not in statuses(engine)  # nobody failed
    assert set(statuses(engine)) <= {"queued", "deferred"}
    assert all(attempts == 0 for _s, attempts, _r in _rows(engine))  # no attempt used up
    assert report.sender_refused is not None and "5.1.8" in report.sender_refused
    assert not report.ok and report.failed == 0
    assert report.deferred <= 4 + 4  # only what was on the wire when it stopped
    assert any(
        "return path" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records
    )


async def test_rcpt_5_1_1_still_bounces_while_sender_5_1_8_at_rcpt_does_not(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    """The stage and the full enhanced code decide, not the class alone."""
    smtpd.behaviour.rcpt_reply = lambda a: (
        "550 5.1.1 no such user" if a == "user0@example.kr" else None
    )
    fill(engine, clock, 5)
    report = await make_drain(smtpd.url).run()
    assert report.ok and report.sent == 4
    assert suppressed(engine) == [("user0@example.kr", "hard_bounce")]


# --- 4. a lease never outlives a row the drain still holds ---


async def test_relay_slower_than_the_lease_sends_each_message_once(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer
) -> None:
    smtpd.behaviour.final_delay = 0.1  # 40 rows on 2 connections: ~2 s, four leases
    fill(engine, SystemClock(), 40)
    report = await _drain(engine, smtpd.url, lease=timedelta(seconds=0.5)).run()
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(40)}
    assert statuses(engine) == {"sent": 40} and report.sent == 40


async def test_leases_of_waiting_rows_are_renewed_so_another_drain_cannot_take_them(
    engine: Engine, smtpd: SmtpServer
) -> None:
    smtpd.behaviour.final_delay = 0.1  # 20 messages/s: the last rows wait ~4 s, 2+ leases
    fill(engine, SystemClock(), 80)
    lease = timedelta(seconds=1.5)
    first, second = _drain(engine, smtpd.url, lease=lease), _drain(engine, smtpd.url, lease=lease)
    running = asyncio.create_task(first.run(until_empty=True))
    await _until(lambda: len(smtpd.record.messages) >= 1)  # the first holds all 80 now
    polling = asyncio.create_task(second.run(until_empty=False))  # claims every second
    await running
    second.stop()
    await polling
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(80)}
    assert statuses(engine) == {"sent": 80}
    assert (first.report.sent, second.report.sent) == (80, 0)


async def test_rows_of_a_drain_that_ended_in_this_process_are_freed_at_once(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    """A daemon that restarts its drain does not wait out the old drain's leases."""
    fill(engine, clock, 10)
    crashed = make_drain(smtpd.url)
    held, _bodies = crashed.ledger.claim(10, set())  # leased for 15 minutes, never sent
    assert len(held) == 10 and statuses(engine) == {"sending": 10}
    report = await make_drain(smtpd.url).run()
    assert report.freed == 10 and report.sent == 10
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(10)}


# --- 8. an unsubscribe stops a message already claimed ---


async def test_unsubscribe_after_claim_stops_the_message(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.final_delay = 0.02
    fill(engine, clock, 20)
    drain = make_drain(smtpd.url, pool=1)
    run = asyncio.create_task(drain.run())
    await _until(lambda: len(smtpd.record.messages) >= 1)  # all 20 are claimed by now
    with engine.begin() as conn:
        store_suppressions.add(conn, ["user19@example.kr"], reason="unsubscribed", now=clock.now())
    report = await run
    assert "user19@example.kr" not in smtpd.record.recipients()
    assert statuses(engine) == {"sent": 19, "suppressed": 1}
    assert report.sent == 19


# --- 9. a graceful stop: unanswered messages are not handed back for an immediate resend ---


async def test_final_reply_outlasting_grace_is_deferred_not_released(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer
) -> None:
    smtpd.behaviour.final_delay = 3.0
    fill(engine, clock, 10)
    mailer = Mailer(smtpd.url, pool_size=2, connect_timeout=5, command_timeout=5, data_timeout=10)
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=2, grace=timedelta(seconds=0.2)
    )
    drain = Drain(engine, mailer, clock, config=config)
    run = asyncio.create_task(drain.run())
    await _until(lambda: smtpd.record.busy == 2)  # both messages written, replies pending
    drain.stop()
    await run
    rows = _rows(engine)
    unanswered = [r for r in rows if r[2] == UNANSWERED]
    assert len(unanswered) == 2 and all(s == "deferred" for s, _a, _r in unanswered)
    assert statuses(engine) == {"deferred": 2, "queued": 8}  # nothing left `sending`


# --- 10. a 421 mid-session ---


@pytest.mark.parametrize("stage", ["mail", "data"])
async def test_421_mid_session_backs_off_and_keeps_the_relays_words(
    engine: Engine,
    clock: FixedClock,
    smtpd: SmtpServer,
    make_drain: Callable[..., Drain],
    stage: str,
) -> None:
    words = "421 4.3.2 mx.test shutting down, try later"
    record = smtpd.record

    calls = [0]

    def after_five(_address: str) -> str | None:
        calls[0] += 1
        return words if calls[0] > 5 else None

    if stage == "mail":
        smtpd.behaviour.mail_reply = after_five
    else:
        smtpd.behaviour.data_reply = after_five
    fill(engine, clock, 30)
    drain = make_drain(smtpd.url, pool=2, mailer_kw={"busy_backoff": 0.01})
    report = await drain.run()
    assert len(record.messages) == 5 and report.sent == 5
    assert report.relay_down == words  # gave up on the relay after repeated 421s
    # Not one per message: each connection may open once per backoff step, then it gives up.
    assert isinstance(drain.mailer, Mailer)
    assert record.connections <= 2 * (1 + drain.mailer.backoff.limit) < 30
    replies = {r for s, _a, r in _rows(engine) if s != "sent" and r is not None}
    assert replies == {words}  # never "connection closed by server"
    assert "failed" not in statuses(engine)


# --- 11.2 maildir and deferral logging ---


async def test_maildir_in_an_existing_empty_folder_delivers(
    engine: Engine, clock: FixedClock, tmp_path: Path, make_drain: Callable[..., Drain]
) -> None:
    import mailbox

    folder = tmp_path / "existing"
    folder.mkdir()
    fill(engine, clock, 3)
    report = await make_drain(f"maildir://{folder}").run()
    assert report.sent == 3 and statuses(engine) == {"sent": 3}
    assert len(mailbox.Maildir(folder, create=False)) == 3


async def test_deferrals_are_logged_grouped_by_reason_without_addresses(
    engine: Engine,
    clock: FixedClock,
    smtpd: SmtpServer,
    make_drain: Callable[..., Drain],
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtpd.behaviour.rcpt_reply = lambda a: (
        f"450 4.2.0 <{a}>: Recipient address rejected: Greylisted"
    )
    fill(engine, clock, 30)
    with caplog.at_level(logging.WARNING, logger="publisher.delivery.drain"):
        report = await make_drain(smtpd.url).run()
    assert report.deferred == 30
    lines = [r.getMessage() for r in caplog.records if "deferred" in r.getMessage()]
    assert len(lines) == 2  # the first at once, then one summary: not one per message
    assert lines[0] == "deferred 1 message: 450 4.2.0 <…>: Recipient address rejected: Greylisted"
    assert lines[1].startswith("deferred 29 message(s) in the last ")
    assert not any("@" in line for line in lines)


# --- 11.1 a DKIM key that cannot sign stops the drain, loudly, failing nobody ---


async def test_unusable_dkim_key_stops_the_run_and_fails_nobody(
    engine: Engine,
    clock: FixedClock,
    smtpd: SmtpServer,
    make_drain: Callable[..., Drain],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from publisher.delivery.dkimsign import signer

    key = tmp_path / "dkim.pem"
    key.write_text("not a key\n")
    fill(engine, clock, 20)
    transform = signer(selector="s1", domain="news.example.kr", key_file=key)
    with caplog.at_level(logging.ERROR, logger="publisher.delivery.drain"):
        report = await make_drain(smtpd.url, transform=transform).run()
    assert report.error is not None and "DKIM" in report.error
    assert statuses(engine) == {"queued": 20}  # not failed: nothing was the rows' fault
    assert smtpd.record.messages == []
    assert any("DKIM" in r.getMessage() for r in caplog.records)
