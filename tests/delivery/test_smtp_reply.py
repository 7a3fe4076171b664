"""A parsed SMTP reply is a named ``Reply(code, text)``, multi-line replies joined."""

from __future__ import annotations

import asyncio

from publisher.delivery.smtpwire import Reply, Wire


def test_wire_parses_named_replies() -> None:
    async def run() -> list[Reply]:
        wire = Wire()
        wire.data_received(b"250-first\r\n250 second\r\n354 go ahead\r\n")
        return await wire.read(2, timeout=1.0)

    replies = asyncio.run(run())
    assert replies == [Reply(250, "first\nsecond"), Reply(354, "go ahead")]
    assert (replies[0].code, replies[1].text) == (250, "go ahead")
