"""The one private attribute of aiosmtplib that the mailer reads, pinned for this release."""

from __future__ import annotations

import aiosmtplib
import pytest

from publisher.delivery.mailer import unread_bytes
from tests.smtpserver import SmtpServer


@pytest.mark.asyncio
async def test_the_protocol_buffer_the_mailer_reads_exists() -> None:
    server = await SmtpServer().start()
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, timeout=10)
        await client.connect()
        try:
            assert client.protocol is not None
            assert unread_bytes(client.protocol) == b""  # greeting and EHLO read, nothing more
        finally:
            client.close()
    finally:
        await server.stop()


def test_a_library_without_the_buffer_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="aiosmtplib changed"):
        unread_bytes(object())
