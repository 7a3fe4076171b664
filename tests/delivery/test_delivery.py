"""The drain against a real aiosmtpd on 127.0.0.1, made to misbehave."""

from __future__ import annotations

import email
import json
import ssl
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from sqlalchemy import Engine, update

from publisher.core.clock import FixedClock
from publisher.delivery.drain import Drain
from publisher.store.schema import outbox
from tests.outboxkit import fill, statuses, suppressed
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.asyncio


async def test_pipelined_delivery_personalises_each_message(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 30)
    report = await make_drain(smtpd.url).run()
    assert report.sent == 30 and report.ok
    assert statuses(engine) == {"sent": 30}
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(30)}
    assert len(smtpd.record.message_ids()) == 30
    rcpt, data = smtpd.record.messages[0]
    msg = email.message_from_bytes(data)
    n = rcpt.removeprefix("user").split("@")[0]
    assert msg["To"] == rcpt
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert f"안녕하세요 독자{n}".encode() in body
    assert b"\r\n.a line that starts with a dot" in data  # dot-stuffing undone by the server
    assert f"https://news.example.kr/u/{n}".encode() in body
    # Envelope (MAIL, RCPT, DATA) went in one write: one grouped read per message.
    assert smtpd.record.grouped == 30


async def test_without_pipelining_lock_step_still_delivers(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.pipelining = False
    fill(engine, clock, 10)
    report = await make_drain(smtpd.url).run()
    assert report.sent == 10
    assert smtpd.record.grouped == 0  # one command per write
    assert smtpd.record.reads >= 10 * 4  # MAIL, RCPT, DATA, body for each message
    assert len(smtpd.record.message_ids()) == 10


async def test_greeting_421_backs_off_without_burning_rows(
    engine: Engine, clock: FixedClock, make_drain: Callable[..., Drain]
) -> None:
    from tests.smtpserver import greeting_421_server

    server, port = await greeting_421_server()
    fill(engine, clock, 5)
    report = await make_drain(f"smtp://127.0.0.1:{port}").run()
    server.close()
    assert report.relay_down is not None and "421" in report.relay_down
    assert report.sent == 0
    assert statuses(engine) == {"queued": 5}  # not failed, not deferred, not sending
    from sqlalchemy import select

    from publisher.store.schema import outbox

    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.attempts, outbox.c.next_attempt_at)).all()
    assert all(a == 0 for a, _ in rows)  # no attempt used up
    assert any(at > clock.now() for _, at in rows)  # the tried one backs off


async def test_451_on_rcpt_defers_then_sends_later(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.rcpt_reply = lambda a: "451 4.3.0 later" if a == "user1@example.kr" else None
    fill(engine, clock, 3)
    report = await make_drain(smtpd.url).run()
    assert (report.sent, report.deferred) == (2, 1)
    assert statuses(engine) == {"sent": 2, "deferred": 1}
    smtpd.behaviour.rcpt_reply = lambda a: None
    again = await make_drain(smtpd.url).run()
    assert again.sent == 0  # not due yet: backoff is at least a minute
    clock.advance(timedelta(minutes=2))
    later = await make_drain(smtpd.url).run()
    assert later.sent == 1
    assert statuses(engine) == {"sent": 3}
    assert smtpd.record.recipients()["user1@example.kr"] == 1


async def test_550_511_fails_and_suppresses(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.rcpt_reply = lambda a: (
        "550 5.1.1 no such user" if a == "user0@example.kr" else None
    )
    fill(engine, clock, 3)
    report = await make_drain(smtpd.url).run()
    assert (report.sent, report.failed) == (2, 1)
    assert statuses(engine) == {"sent": 2, "failed": 1}
    assert suppressed(engine) == [("user0@example.kr", "hard_bounce")]


async def test_burst_of_5726_pauses_the_run_and_suppresses_nobody(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.rcpt_reply = lambda a: "550 5.7.26 unauthenticated mail is prohibited"
    fill(engine, clock, 200)
    report = await make_drain(smtpd.url, threshold=5, pool=2).run()
    assert report.paused is not None and "5.7.26" in report.paused
    assert report.sent == 0
    # Stopped right after the threshold: at most one in flight + one pipelined per connection.
    assert report.deferred <= 5 + 2 * 2
    assert suppressed(engine) == []
    counts = statuses(engine)
    assert "failed" not in counts and "sending" not in counts
    assert counts["queued"] >= 190  # the rest was handed back untouched


async def test_552_is_temporary(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.data_reply = lambda r: "552 5.2.2 mailbox full"
    fill(engine, clock, 2)
    report = await make_drain(smtpd.url).run()
    assert report.deferred == 2 and report.failed == 0
    assert statuses(engine) == {"deferred": 2}
    assert suppressed(engine) == []


async def test_connection_dropped_mid_data_is_retried_without_partial_message(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.drop_mid_data = 1
    fill(engine, clock, 4)
    report = await make_drain(smtpd.url, pool=1).run()
    assert (report.sent, report.deferred) == (3, 1)
    assert len(smtpd.record.messages) == 3  # nothing half-received was kept
    clock.advance(timedelta(minutes=2))
    later = await make_drain(smtpd.url, pool=1).run()
    assert later.sent == 1
    assert smtpd.record.recipients() == {f"user{i}@example.kr": 1 for i in range(4)}


async def test_slow_final_reply_gives_at_most_one_extra_copy_same_message_id(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    smtpd.behaviour.final_delay = 0.5
    fill(engine, clock, 1)
    report = await make_drain(smtpd.url, data_timeout=0.1).run()
    assert report.deferred == 1  # the timeout is a temporary failure
    smtpd.behaviour.final_delay = 0
    clock.advance(timedelta(minutes=2))
    assert (await make_drain(smtpd.url).run()).sent == 1
    ids = smtpd.record.message_ids()
    assert len(ids) == 1 and next(iter(ids.values())) == 2  # one extra copy, same Message-ID
    assert statuses(engine) == {"sent": 1}


async def test_suppressed_after_enqueue_is_not_sent(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    from publisher.store import suppressions as store_suppressions

    fill(engine, clock, 3)
    with engine.begin() as conn:
        store_suppressions.add(conn, ["USER2@example.kr"], reason="unsubscribed", now=clock.now())
    report = await make_drain(smtpd.url).run()
    assert report.sent == 2 and report.skipped == 1
    assert statuses(engine) == {"sent": 2, "suppressed": 1}
    assert "user2@example.kr" not in smtpd.record.recipients()


async def test_expired_rows_are_not_sent(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 2, expires_in=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    report = await make_drain(smtpd.url).run()
    assert report.sent == 0
    assert statuses(engine) == {"expired": 2}


async def test_starttls_with_throwaway_certificate(
    engine: Engine, clock: FixedClock, make_drain: Callable[..., Drain]
) -> None:
    server_ctx, client_ctx = _throwaway_tls()
    server = await SmtpServer(tls_context=server_ctx).start()
    try:
        fill(engine, clock, 3)
        url = f"smtp+starttls://127.0.0.1:{server.port}"
        report = await make_drain(url, mailer_kw={"tls_context": client_ctx}).run()
        assert report.sent == 3
        assert len(server.record.messages) == 3  # require_starttls: only reachable over TLS
        # Without trusting the throw-away CA, nothing is sent and nothing is burned.
        fill(engine, clock, 1, kind="confirm")
        untrusted = await make_drain(url).run()
        assert untrusted.relay_down is not None and untrusted.sent == 0
        assert statuses(engine) == {"sent": 3, "queued": 1}
    finally:
        await server.stop()


async def test_maildir_output_is_readable_by_mailbox(
    engine: Engine, clock: FixedClock, make_drain: Callable[..., Drain], tmp_path: Path
) -> None:
    import mailbox

    fill(engine, clock, 3)
    report = await make_drain(f"maildir://{tmp_path / 'mail'}").run()
    assert report.sent == 3
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    msgs = sorted(box, key=lambda m: str(m["To"]))
    assert [m["To"] for m in msgs] == [f"user{i}@example.kr" for i in range(3)]
    assert [m["Delivered-To"] for m in msgs] == [m["To"] for m in msgs]
    assert all(m["Message-ID"].startswith("<") for m in msgs)
    payload = msgs[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert b"\n.a line that starts with a dot" in payload.replace(b"\r\n", b"\n")


async def test_transform_hook_sees_each_personalised_message(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 3)
    seen: list[bytes] = []

    def sign(message: bytes) -> bytes:  # where DKIM signing plugs in
        seen.append(message)
        return b"DKIM-Signature: v=1; test\r\n" + message

    assert (await make_drain(smtpd.url, transform=sign).run()).sent == 3
    assert all(b"%%" not in m and b"\r\n.a line" in m for m in seen)  # filled, not stuffed
    for _rcpt, data in smtpd.record.messages:
        assert data.startswith(b"DKIM-Signature: v=1; test\r\n")
        assert b"\r\n.a line that starts with a dot" in data


async def test_graceful_stop_releases_untried_rows_and_leaves_nothing_sending(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    import asyncio

    smtpd.behaviour.final_delay = 0.02
    fill(engine, clock, 300)
    drain = make_drain(smtpd.url, pool=2)
    run = asyncio.create_task(drain.run(until_empty=True))
    while len(smtpd.record.messages) < 10:
        await asyncio.sleep(0.01)
    drain.stop()  # what SIGTERM does
    report = await run
    counts = statuses(engine)
    assert "sending" not in counts
    assert report.released > 0 and counts["queued"] == report.released
    assert counts["sent"] == report.sent == len(smtpd.record.messages)  # no mark lost
    from sqlalchemy import select

    from publisher.store.schema import outbox

    with engine.connect() as conn:
        attempts = conn.execute(select(outbox.c.attempts).where(outbox.c.status == "queued"))
        assert set(attempts.scalars()) == {0}  # released rows keep their attempts


async def test_a_failing_transform_stops_the_run_and_releases_rows(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 20)

    def broken(message: bytes) -> bytes:
        raise RuntimeError("signing key missing")

    with pytest.raises(RuntimeError, match="signing key missing"):
        await make_drain(smtpd.url, transform=broken).run()
    assert statuses(engine) == {"queued": 20}  # nothing sent, nothing stuck in "sending"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")
async def test_smtps_with_auth(
    engine: Engine, clock: FixedClock, make_drain: Callable[..., Drain]
) -> None:
    server_ctx, client_ctx = _throwaway_tls()
    server = await SmtpServer(
        tls_context=server_ctx, implicit_tls=True, credentials=("mailer", "s3cret/키")
    ).start()
    try:
        fill(engine, clock, 3)
        good = f"smtps://mailer:s3cret%2F%ED%82%A4@127.0.0.1:{server.port}"
        wrong = f"smtps://mailer:nope@127.0.0.1:{server.port}"
        refused = await make_drain(wrong, mailer_kw={"tls_context": client_ctx}).run()
        assert refused.relay_down is not None and refused.relay_down.startswith("535")
        assert statuses(engine) == {"queued": 3}  # a bad password burns nothing
        clock.advance(timedelta(minutes=5))
        report = await make_drain(good, mailer_kw={"tls_context": client_ctx}).run()
        assert report.sent == 3 and len(server.record.messages) == 3
    finally:
        await server.stop()


async def test_domain_connection_limit_caps_concurrency(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    from publisher.delivery.ratelimit import Limit

    smtpd.behaviour.final_delay = 0.01
    fill(engine, clock, 12, domain="naver.com")
    fill(engine, clock, 12, domain="example.kr", kind="confirm")
    limits = {"naver.com": Limit(rate=1000, connections=1)}
    report = await make_drain(smtpd.url, pool=4, domain_limits=limits).run()
    assert report.sent == 24
    assert smtpd.record.most_busy >= 2  # other domains do go in parallel …
    smtpd.record.most_busy = 0
    fill(engine, clock, 12, domain="naver.com", kind="share")
    await make_drain(smtpd.url, pool=4, domain_limits=limits).run()
    assert smtpd.record.most_busy == 1  # … naver.com never more than one at a time


async def test_connection_closed_while_idle_is_recreated_without_deferring(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    import asyncio

    fill(engine, clock, 2)
    drain = make_drain(smtpd.url, pool=1)
    run = asyncio.create_task(drain.run(until_empty=False))  # a daemon: polls for new rows
    while len(smtpd.record.messages) < 2:
        await asyncio.sleep(0.01)
    for transport in smtpd.record.transports:
        transport.close()  # the server hangs up on the idle connection
    fill(engine, clock, 4, kind="confirm")
    while len(smtpd.record.messages) < 6:
        await asyncio.sleep(0.05)
    drain.stop()
    report = await run
    assert (report.sent, report.deferred) == (6, 0)
    assert smtpd.record.connections == 2


async def test_an_address_with_a_line_break_never_reaches_the_wire(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    fill(engine, clock, 1, domain="example.kr>\r\nRCPT TO:<victim@example.kr")
    report = await make_drain(smtpd.url).run()
    assert report.failed == 1 and smtpd.record.messages == []
    assert suppressed(engine) == []  # our bug or bad data, not a bounce


def _throwaway_tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 and a client that trusts its CA."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


async def test_a_message_that_cannot_be_made_does_not_cost_the_next_one(
    engine: Engine, clock: FixedClock, smtpd: SmtpServer, make_drain: Callable[..., Drain]
) -> None:
    # Its envelope was pipelined behind the message before it, so the relay waits for its
    # body; the message after it must not be sent into that transaction (or be deferred).
    fill(engine, clock, 8)
    bad = json.dumps({"%%TO%%": "user3@example.kr\r\nBcc: victim@example.kr"})  # a header
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == 4).values(substitutions=bad))
    report = await make_drain(smtpd.url, pool=1).run()
    assert statuses(engine) == {"sent": 7, "failed": 1}
    assert report.sent == 7 and report.deferred == 0
    assert "user3@example.kr" not in smtpd.record.recipients()
    assert all(b"victim" not in data for _rcpt, data in smtpd.record.messages)
