"""The drain's per-message shortcuts give what the plain paths give (issue 19).

Replies a relay repeats are parsed once per connection, a connection has one reply timer
instead of one per read, a template looks for line breaks once per message, the next envelope
is pipelined only once its addresses are known to be safe, and with no limits at all no
permit is worked out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from publisher.delivery.personalise import Personaliser
from publisher.delivery.ratelimit import Limit, Permits
from publisher.delivery.smtpwire import (
    ConnectionBroken,
    Failed,
    Reply,
    Sent,
    Transaction,
    Wire,
    prepare,
)
from publisher.messages.enqueue import Claimed, SubstitutionError, Template, personalise

pytestmark = pytest.mark.asyncio


def _item(message_id: str = "<m1@news.example.kr>", **subs: str) -> Claimed:
    return Claimed(
        id=1, kind="digest", recipient="a@b.kr", content_id=1, substitutions=subs,
        message_id=message_id, attempts=1, expires_at=datetime(2026, 11, 24, tzinfo=UTC),
    )  # fmt: skip


BODY = (
    b"To: %%TO%%\r\nMessage-ID: %%MESSAGE_ID%%\r\n\r\n%%NAME%%, %%LINK%% %%LINK%% %%LINK%%"
    b"\r\n%%UNKNOWN%% %%NAME%%\r\n"
)


@pytest.mark.parametrize(
    "subs",
    [
        {"%%TO%%": "a@b.kr", "%%NAME%%": "독자", "%%LINK%%": "/r1"},
        {"%%TO%%": "a@b.kr"},  # unfilled placeholders stay as they are
        {},
        {"%%NAME%%": "a\0b", "%%LINK%%": "\0"},  # NULs inside values
        {"%%MESSAGE_ID%%": "<forged@x>", "%%LINK%%": "x"},  # the row's Message-ID wins
        {"%%OTHER%%": "not in the template\r\n", "%%NAME%%": "n"},  # unused: never checked
    ],
)
async def test_template_fill_matches_plain_substitution(subs: dict[str, str]) -> None:
    item = _item(**subs)
    assert Template(BODY).fill(item) == personalise(BODY, item)


async def test_template_without_placeholders_and_with_one() -> None:
    assert Template(b"plain\r\n").fill(_item()) == b"plain\r\n"
    assert Template(b"x %%MESSAGE_ID%% y").fill(_item()) == b"x <m1@news.example.kr> y"


async def test_template_refuses_a_line_break_in_any_of_its_names() -> None:
    for name in ("%%TO%%", "%%LINK%%"):
        with pytest.raises(SubstitutionError, match=name):
            Template(BODY).fill(_item(**{"%%TO%%": "a@b.kr", name: "x\ny"}))


async def test_personaliser_sends_a_value_with_a_leading_dot_stuffed() -> None:
    body = b"To: %%TO%%\r\n\r\n%%NOTE%%\r\n"
    make = Personaliser(lambda cid: body)
    make.add(1, body)
    dotted = make(_item(**{"%%TO%%": "a@b.kr", "%%NOTE%%": ".hidden"}))
    assert dotted == prepare(
        personalise(body, _item(**{"%%TO%%": "a@b.kr", "%%NOTE%%": ".hidden"}))
    )
    assert b"\r\n..hidden\r\n" in dotted
    inner = {"%%TO%%": "a@b.kr", "%%NOTE%%": "a\0.b"}  # looks like a dot: same bytes anyway
    assert make(_item(**inner)) == Template(prepare(body)).fill(_item(**inner))


async def test_a_known_line_still_ends_a_multiline_reply() -> None:
    wire = Wire()
    wire.data_received(b"250 2.0.0 Ok\r\n")
    wire.data_received(b"250-first\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n")
    wire.data_received(b"250 2.0.0")  # a partial line waits for its end
    wire.data_received(b" Ok\r\n421 4.3.2 bye\r\n")
    replies = await wire.read(5, timeout=1.0)
    assert replies == [
        Reply(250, "2.0.0 Ok"), Reply(250, "first\n2.0.0 Ok"), Reply(250, "2.0.0 Ok"),
        Reply(250, "2.0.0 Ok"), Reply(421, "4.3.2 bye"),
    ]  # fmt: skip
    assert wire.closing == "421 4.3.2 bye"


async def test_a_short_timeout_fires_behind_a_longer_one() -> None:
    wire = Wire()
    reading = asyncio.ensure_future(wire.read(1, timeout=60.0))
    await asyncio.sleep(0)
    wire.data_received(b"250 Ok\r\n")
    assert await reading == [Reply(250, "Ok")]
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConnectionBroken, match=r"timeout after 0\.05 s"):
        await wire.read(1, timeout=0.05)
    assert asyncio.get_running_loop().time() - started < 5


async def test_an_old_deadline_does_not_expire_a_newer_read() -> None:
    wire = Wire()
    reading = asyncio.ensure_future(wire.read(1, timeout=0.05))
    await asyncio.sleep(0)
    wire.data_received(b"250 Ok\r\n")
    await reading
    later = asyncio.ensure_future(wire.read(1, timeout=30.0))
    await asyncio.sleep(0.2)  # well past the first read's deadline
    assert not later.done()
    wire.data_received(b"250 Ok\r\n")
    assert await later == [Reply(250, "Ok")]
    with pytest.raises(ConnectionBroken, match=r"timeout after 0\.1 s"):
        await wire.read(1, timeout=0.1)  # the re-armed timer serves the next deadline
    wire.close()


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""

    def writelines(self, chunks: object) -> None:
        self.written += b"".join(chunks)  # type: ignore[arg-type]

    def is_closing(self) -> bool:
        return False


async def test_an_unsafe_next_address_is_not_pipelined() -> None:
    wire, transport = Wire(), _Transport()
    wire.transport = transport
    tx = Transaction(wire, pipelining=True, eightbit=False, command_timeout=5, data_timeout=5)
    wire.data_received(b"250 Ok\r\n250 Ok\r\n354 go\r\n250 queued\r\n")
    bad = ("s@x.kr", "b@x.kr>\r\nRCPT TO:<victim@x.kr")
    assert await tx.send("s@x.kr", "a@x.kr", b"hi\r\n", then=bad) == Sent("250 queued")
    assert b"victim" not in transport.written and tx.ahead is None
    refused = await tx.send(*bad, b"hi\r\n")
    assert isinstance(refused, Failed) and refused.reply.startswith("501 5.1.3")
    wire.data_received(b"250 Ok\r\n250 Ok\r\n354 go\r\n250 queued\r\n")
    assert await tx.send("s@x.kr", "c@x.kr", b"hi\r\n") == Sent("250 queued")


async def test_a_pipelined_envelope_is_answered_from_the_buffer_or_awaited() -> None:
    wire, transport = Wire(), _Transport()
    wire.transport = transport
    tx = Transaction(wire, pipelining=True, eightbit=False, command_timeout=5, data_timeout=5)
    wire.data_received(
        b"250 Ok\r\n250 Ok\r\n354 go\r\n250 queued\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"
    )
    second, third = ("s@x.kr", "b@x.kr"), ("s@x.kr", "c@x.kr")
    assert await tx.send("s@x.kr", "a@x.kr", b"hi\r\n", then=second) == Sent("250 queued")
    assert transport.written.endswith(b".\r\nMAIL FROM:<s@x.kr>\r\nRCPT TO:<b@x.kr>\r\nDATA\r\n")
    wire.data_received(b"250 queued 2\r\n")  # its envelope's replies are buffered already
    assert await tx.send(*second, b"hi\r\n", then=third) == Sent("250 queued 2")
    sending = asyncio.ensure_future(tx.send(*third, b"hi\r\n"))
    await asyncio.sleep(0)  # now waiting for the envelope's replies
    assert not sending.done()
    wire.data_received(b"250 Ok\r\n250 Ok\r\n354 go\r\n250 queued 3\r\n")
    assert await sending == Sent("250 queued 3")
    assert tx.ahead is None


async def test_permits_are_open_only_without_rate_and_domain_limits() -> None:
    assert Permits(0, {}).open
    assert not Permits(10, {}).open
    assert not Permits(0, {"example.kr": Limit(rate=1, connections=1)}).open
