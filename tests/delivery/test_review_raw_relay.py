"""The drain against a raw asyncio relay that answers in awkward ways (review of issue 19).

Replies split a byte at a time, multi-line final replies whose last line is a line the wire
already knows, a queue id per message (far more than the 32 lines the wire remembers), a 421
in the middle of a pipelined stream, and a relay that goes silent right after a message was
accepted (a short command timeout must follow the long data timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.delivery.drain import DeliverConfig, Drain
from publisher.delivery.mailer import Mailer
from tests.outboxkit import fill, statuses

pytestmark = pytest.mark.asyncio


@dataclass
class Relay:
    """``final(n)``: the final reply to the n-th message (0-based); ``after(n)``: what to do
    once that reply is written (None: go on, "silent": answer nothing more, "421": say 421
    to the next command and hang up)."""

    final: Callable[[int], bytes] = lambda n: b"250 2.0.0 Ok: queued as Q%d\r\n" % n
    after: Callable[[int], str | None] = lambda n: None
    bytewise: bool = False
    received: list[bytes] = field(default_factory=list)
    port: int = 0
    server: asyncio.AbstractServer | None = None

    async def _say(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not self.bytewise:
            writer.write(data)
        else:
            for i in range(len(data)):
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0)  # its own segment, most of the time
        await writer.drain()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode: str | None = None
        try:
            await self._say(writer, b"220 raw.test ESMTP\r\n")
            while line := await reader.readline():
                cmd = line[:4].upper()
                if mode == "silent":
                    continue
                if mode == "421":
                    await self._say(writer, b"421 4.3.2 raw.test shutting down\r\n")
                    break
                if cmd == b"EHLO":
                    await self._say(writer, b"250-raw.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    await self._say(writer, b"250 2.0.0 Ok\r\n")
                elif cmd == b"DATA":
                    await self._say(writer, b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    body = b""
                    while (part := await reader.readline()) not in (b".\r\n", b""):
                        body += part
                    n = len(self.received)
                    self.received.append(body)
                    await self._say(writer, self.final(n))
                    mode = self.after(n)
                elif cmd == b"QUIT":
                    await self._say(writer, b"221 bye\r\n")
                    break
                else:
                    await self._say(writer, b"500 what\r\n")
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def start(self) -> Relay:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[Relay]:
    r = await Relay().start()
    yield r
    assert r.server is not None
    r.server.close()


def _drain(
    engine: Engine, clock: FixedClock, port: int, *, pool: int = 1, command: float = 5,
    data: float = 10,
) -> Drain:  # fmt: skip
    mailer = Mailer(
        f"smtp://127.0.0.1:{port}", pool_size=pool, connect_timeout=5, command_timeout=command,
        data_timeout=data, busy_backoff=0.01,
    )  # fmt: skip
    config = DeliverConfig(
        sender="bounces@news.example.kr", pool_size=pool, mark_batch=10,
        grace=timedelta(seconds=5),
    )  # fmt: skip
    return Drain(engine, mailer, clock, config=config)


async def _all_sent(engine: Engine, clock: FixedClock, relay: Relay, n: int) -> None:
    """Drain ``n`` queued rows through the relay: every one sent, once, and marked so."""
    fill(engine, clock, n)
    report = await asyncio.wait_for(_drain(engine, clock, relay.port).run(), 60)
    assert statuses(engine) == {"sent": n}, report
    assert report.sent == n and len(relay.received) == n


async def test_replies_a_byte_at_a_time_with_a_queue_id_each(
    engine: Engine, clock: FixedClock, relay: Relay
) -> None:
    relay.bytewise = True
    await _all_sent(engine, clock, relay, 40)  # 40 distinct final replies: more than remembered


async def test_a_multiline_final_reply_ending_in_a_known_line(
    engine: Engine, clock: FixedClock, relay: Relay
) -> None:
    # Every other final reply is multi-line, its last line the MAIL/RCPT reply's very line.
    relay.final = lambda n: (
        b"250-2.0.0 queued as Q%d\r\n250 2.0.0 Ok\r\n" % n if n % 2 else b"250 2.0.0 Ok\r\n"
    )
    await _all_sent(engine, clock, relay, 12)


async def test_a_421_in_the_middle_of_a_pipelined_stream(
    engine: Engine, clock: FixedClock, relay: Relay
) -> None:
    relay.after = lambda n: "421" if n == 2 else None  # after the third message: 421, hang up
    # The pipelined envelope got the 421, not a message: nobody is failed, every row is sent.
    await _all_sent(engine, clock, relay, 8)


async def test_silence_after_an_accepted_message_times_out_on_the_command_timeout(
    engine: Engine, clock: FixedClock, relay: Relay
) -> None:
    relay.after = lambda n: "silent" if n == 0 else None  # the next envelope is never answered
    fill(engine, clock, 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    # A data timeout of 120 s: the silent envelope must time out after the 1 s command timeout.
    drain = _drain(engine, clock, relay.port, command=1.0, data=120.0)
    report = await asyncio.wait_for(drain.run(), 60)
    assert loop.time() - started < 30
    assert report.sent >= 1 and statuses(engine).get("failed") is None, report


async def test_a_reader_suppressed_after_the_claim_is_not_mailed(
    engine: Engine, clock: FixedClock, relay: Relay
) -> None:
    from publisher.store import suppressions as store_suppressions

    fill(engine, clock, 200)
    drain = _drain(engine, clock, relay.port)
    done: list[int] = []

    def progress(report: object) -> None:
        # At the first message sent, every row is claimed (one batch) and the last not yet fed.
        if not done:
            done.append(1)
            with engine.begin() as conn:
                store_suppressions.add(
                    conn, ["user199@example.kr"], reason="unsubscribed", now=clock.now()
                )

    drain.on_progress = progress
    report = await asyncio.wait_for(drain.run(), 60)
    assert statuses(engine) == {"sent": 199, "suppressed": 1}, report
    assert not any(b"user199@" in body for body in relay.received)
