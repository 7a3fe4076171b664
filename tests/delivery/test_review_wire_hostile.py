"""A relay that sends more than SMTP replies can be: the connection is dropped at once.

RFC 5321 (4.5.3.1.5) bounds a reply line at 512 octets, and a pipelined session waits for a
handful of replies. A relay that streams a line without end, endless continuation lines or
replies nobody asked for must not grow our memory until the (data) timeout runs out: the read
fails with ConnectionBroken as soon as the bound is passed, and the connection is aborted.
"""

from __future__ import annotations

import asyncio

import pytest

from publisher.delivery.smtpwire import ConnectionBroken, Reply, Wire

pytestmark = pytest.mark.asyncio


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def writelines(self, chunks: object) -> None:
        pass

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.aborted = True


def _wire() -> tuple[Wire, _Transport]:
    wire, transport = Wire(), _Transport()
    wire.transport = transport
    return wire, transport


async def _broken_soon(wire: Wire, feed: list[bytes]) -> None:
    """Feed the wire while a read with a long timeout waits: the read must fail at once."""
    reading = asyncio.ensure_future(wire.read(1, timeout=600.0))
    await asyncio.sleep(0)
    for chunk in feed:
        wire.data_received(chunk)
    # The deadline only bounds the test: a fixed wire fails the read during the feed.
    with pytest.raises(ConnectionBroken, match="more than"):
        await asyncio.wait_for(reading, 5)


async def test_a_reply_line_without_end_drops_the_connection() -> None:
    wire, transport = _wire()
    await _broken_soon(wire, [b"x" * 65536] * 64)  # 4 MiB, no line end
    assert transport.aborted and not wire.alive
    assert len(wire._buf) == 0  # nothing more is kept


async def test_endless_continuation_lines_drop_the_connection() -> None:
    wire, transport = _wire()
    await _broken_soon(wire, [b"250-" + b"y" * 200 + b"\r\n"] * 50_000)  # 10 MB of one reply
    assert transport.aborted


async def test_a_flood_of_unasked_replies_drops_the_connection() -> None:
    wire, transport = _wire()
    for i in range(10_000):
        wire.data_received(b"250 2.0.0 Ok: queued as %d\r\n" % i)
    with pytest.raises(ConnectionBroken, match="more than"):
        await wire.read(1, timeout=5.0)
    assert transport.aborted


async def test_ordinary_multiline_and_pipelined_replies_still_pass() -> None:
    wire, transport = _wire()
    wire.data_received(b"".join(b"250-line %d\r\n" % i for i in range(40)) + b"250 last\r\n")
    wire.data_received(b"250 Ok\r\n250 Ok\r\n354 go\r\n250 queued\r\n" * 4)
    [multi] = await wire.read(1, timeout=5.0)
    assert multi.code == 250 and multi.text.endswith("line 39\nlast")
    assert (
        await wire.read(16, timeout=5.0)
        == [Reply(250, "Ok"), Reply(250, "Ok"), Reply(354, "go"), Reply(250, "queued")] * 4
    )
    assert not transport.aborted
