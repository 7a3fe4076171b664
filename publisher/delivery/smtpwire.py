"""The SMTP transaction on an open connection: pipelined when the server allows it.

aiosmtplib (in delivery/mailer.py) connects, greets, says EHLO, starts TLS and logs in; then the
connection's transport is handed to ``Wire``, which parses every reply already buffered
(aiosmtplib's reader takes one reply per read, which loses pipelined replies) and runs
MAIL/RCPT/DATA with as few writes and wake-ups as possible. Replies become outcomes here.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from publisher.core.errors import PublisherError
from publisher.core.vocab import SmtpStage
from publisher.delivery.outcomes import (
    Failed,
    Outcome,
    RetryAt,
    Sent,
    classify,
    names_recipient,
    names_sender,
)

# The outcomes live in delivery/outcomes.py; they are named here too, where callers met them.
__all__ = [
    "ConnectionBroken", "Failed", "Outcome", "Reply", "RetryAt", "Sent", "Transaction", "Wire",
    "classify", "names_recipient", "names_sender", "prepare", "refuse_address", "unstuff",
]  # fmt: skip


class Reply(NamedTuple):
    """One complete SMTP reply: the three-digit code (0 if the server sent none) and its
    text, continuation lines joined by newlines."""

    code: int
    text: str


_UNSAFE = re.compile(r"[\r\n<>\s]")


def refuse_address(sender: str, recipient: str) -> Failed | None:
    """An address that would break out of MAIL FROM:<…> / RCPT TO:<…> is never sent."""
    if _UNSAFE.search(recipient) or _UNSAFE.search(sender):
        return Failed(f"501 5.1.3 refused to send to {recipient!r}: not a plain address")
    return None


_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")
_LINE_END = re.compile(rb"\r\n|\r|\n")


def prepare(body: bytes) -> bytes:
    """Message bytes as they go after DATA: CRLF line endings, dot-stuffed, CRLF at the end.

    A bare LF or a bare CR becomes CRLF too: some servers take ``<CR>.<CR><LF>`` or
    ``<LF>.<CR><LF>`` for the end of the data, and a value holding one must not end the
    message early or smuggle a second one in (a line that starts with a dot is stuffed).
    """
    if _BARE.search(body):
        body = _LINE_END.sub(b"\r\n", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    body = body.replace(b"\r\n.", b"\r\n..")
    return b"." + body if body.startswith(b".") else body


def unstuff(data: bytes) -> bytes:
    data = data.replace(b"\r\n..", b"\r\n.")
    return data[1:] if data.startswith(b"..") else data


class ConnectionBroken(PublisherError):
    """The connection dropped or a reply timed out; the session must be discarded."""


# Single-line replies already parsed, by their raw line: a relay repeats the same few lines
# ("250 2.1.0 Ok", "354 End data …") for every message, so most lines cost one dict lookup.
# Bounded: replies that differ every time (queue ids) simply stop being remembered.
_KNOWN_MAX = 32

# A reply line is at most 512 octets (RFC 5321 4.5.3.1.5), a multi-line reply here a few lines,
# and a pipelined session waits for a handful of replies. A relay that sends far more (a line
# without end, endless continuation lines, replies nobody asked for) is dropped at once rather
# than let our memory grow with what it sends until a timeout runs out.
_LINE_MAX = 16384
_LINES_MAX = 100
_REPLIES_MAX = 64
_TOO_MUCH = "the relay sent more than SMTP replies can be: connection dropped"


class Wire(asyncio.Protocol):
    """Reply parser over a transport: every complete reply in the buffer is kept."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._lines: list[str] = []
        self._replies: deque[Reply] = deque()
        self._known: dict[bytes, Reply] = {}
        self._waiter: asyncio.Future[None] | None = None
        self._want = 0
        self._lost: str | None = None
        # One timer per connection, not one per read: a read moves the deadline; the timer,
        # when it fires, either expires the waiting read or re-arms itself for the deadline.
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self.closing: str | None = None  # a 421 reply: the server is closing this session
        self.reads = 0  # data_received calls; tests use it to see the grouping

    def attach(self, transport: asyncio.Transport, leftover: bytes = b"") -> None:
        self.transport = transport
        transport.set_protocol(self)
        if leftover:
            self.data_received(leftover)

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        if self._lost is not None:  # dropped (``_overflow``): nothing more is read
            return
        if self._buf or not data.endswith(b"\n"):
            buf = self._buf
            buf += data
            end = buf.rfind(b"\n")
            if end < 0:
                if len(buf) > _LINE_MAX:
                    self._overflow()
                return
            data = bytes(buf[: end + 1])
            del buf[: end + 1]
        # A pipelined stream brings several replies per read (the last message's 250 and the
        # next envelope's three): one split, and a known line is one lookup.
        known, replies = self._known, self._replies
        for raw in data.split(b"\n")[:-1]:
            reply = known.get(raw)
            if reply is None or self._lines:
                self._parse(raw)
            else:
                replies.append(reply)
        if len(replies) > _REPLIES_MAX or len(self._buf) > _LINE_MAX or self._lost is not None:
            self._overflow()
            return
        w = self._waiter
        if w is not None and len(replies) >= self._want and not w.done():
            w.set_result(None)

    def _parse(self, raw: bytes) -> None:
        if len(raw) > _LINE_MAX or len(self._lines) >= _LINES_MAX:
            self._lost = _TOO_MUCH  # data_received drops the connection after this read
            return
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        if len(line) >= 4 and line[3] == "-":
            self._lines.append(line[4:])
            return
        code = int(line[:3]) if line[:3].isdigit() else 0
        if self._lines:
            self._lines.append(line[4:])
            reply = Reply(code, "\n".join(self._lines).strip())
            self._lines = []
        else:
            reply = Reply(code, line[4:].strip())
            if code != 421 and len(self._known) < _KNOWN_MAX:
                self._known[raw] = reply
        self._replies.append(reply)
        if code == 421 and self.closing is None:  # RFC 5321 4.2.2: it will hang up
            self.closing = f"421 {reply.text}"[:500]

    def _overflow(self) -> None:
        """The relay sent too much (``_LINE_MAX``…): drop the connection, fail the read."""
        self._buf.clear()
        self._lines, self._lost = [], self._lost or _TOO_MUCH
        self._replies.clear()
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        # After a 421 the relay's own words say why; "connection closed" would hide them.
        lost = f"connection lost: {exc}" if exc else "connection closed by server"
        self._lost = self._lost or self.closing or lost
        self.transport = None
        self._disarm()
        self._wake()

    def eof_received(self) -> bool:
        return False

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done() and (len(self._replies) >= self._want or self._lost):
            w.set_result(None)

    @property
    def alive(self) -> bool:
        return (
            self.closing is None and self.transport is not None and not self.transport.is_closing()
        )

    def write(self, *chunks: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionBroken(self._lost or "connection closed")
        self.transport.writelines(chunks)

    async def read(self, n: int, timeout: float) -> list[Reply]:
        replies = self._replies
        if len(replies) < n:
            if self._lost:
                raise ConnectionBroken(self._lost)
            self._want = n
            loop = asyncio.get_running_loop()
            self._deadline = deadline = loop.time() + timeout
            if self._timer is None or self._timer_at > deadline:
                self._arm(loop, deadline)
            waiter = self._waiter = loop.create_future()
            try:
                await waiter
            except TimeoutError:
                raise ConnectionBroken(f"timeout after {timeout:g} s") from None
            finally:
                self._waiter = None
            if len(replies) < n:
                raise ConnectionBroken(self._lost or "connection closed")
        if n == 1:
            return [replies.popleft()]
        return [replies.popleft() for _ in range(n)]

    def take(self, n: int) -> list[Reply] | None:
        """``n`` replies if they are all here already, else None (then ``read``)."""
        replies = self._replies
        return [replies.popleft() for _ in range(n)] if len(replies) >= n else None

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = loop.call_at(at, self._expire)

    def _expire(self) -> None:
        """The timer fired: the read waiting now times out if its deadline is this one;
        a later deadline (the read was re-armed by a newer read) gets the timer again."""
        self._timer = None
        w = self._waiter
        if w is None or w.done():
            return  # nobody waits: the next read arms the timer again
        if self._deadline <= self._timer_at:
            w.set_exception(TimeoutError())
        else:
            self._arm(w.get_loop(), self._deadline)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self._disarm()
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.transport.write(b"QUIT\r\n")
            finally:
                self.transport.close()


@dataclass(slots=True)
class Transaction:
    """Runs one message at a time over a Wire.

    With PIPELINING, ``send(..., then=(sender, recipient))`` also writes the *next*
    message's envelope right behind this message's final dot (RFC 2920 allows the message
    to start a command group), so a steady stream costs one round trip per message. The
    caller must then send exactly that message next on this transaction.
    """

    wire: Wire
    pipelining: bool
    eightbit: bool
    command_timeout: float
    data_timeout: float
    dirty: bool = False  # a transaction ended in an error before DATA: RSET first
    ahead: tuple[str, str] | None = None  # envelope already written for the next message
    # The last final 2xx reply and its outcome: a relay's "250 Ok" is one object (Wire).
    _accepted: tuple[Reply | None, Outcome] = field(default=(None, Sent("")), init=False)

    def _envelope(self, sender: str, recipient: str) -> bytes:
        body = " BODY=8BITMIME" if self.eightbit else ""
        return f"MAIL FROM:<{sender}>{body}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()

    async def send(
        self, sender: str, recipient: str, data: bytes, then: tuple[str, str] | None = None
    ) -> Outcome:
        """``data`` is prepared (CRLF, dot-stuffed, CRLF-terminated)."""
        if self.ahead is not None:  # checked by refuse_address before it was written
            if self.ahead != (sender, recipient):
                raise ConnectionBroken("pipelined envelope does not match the message")
            self.ahead = None
            # Usually already here (they came with the last message's 250): no await then.
            got = self.wire.take(3)
            m, r, d = got if got is not None else await self.wire.read(3, self.command_timeout)
        elif refused := refuse_address(sender, recipient):
            return refused
        elif self.pipelining:
            rset = b"RSET\r\n" if self.dirty else b""
            self.dirty = False
            self.wire.write(rset + self._envelope(sender, recipient))
            replies = await self.wire.read(4 if rset else 3, self.command_timeout)
            m, r, d = replies[-3:]
        else:
            if self.dirty:
                self.dirty = False
                await self._step(b"RSET\r\n")
            mail, rcpt = self._envelope(sender, recipient).split(b"\r\n")[:2]
            m = await self._step(mail + b"\r\n")
            if not 200 <= m.code < 300:
                return self._refused(m, "mail", sender, recipient)
            r = await self._step(rcpt + b"\r\n")
            if not 200 <= r.code < 300:
                return self._refused(r, "rcpt", sender, recipient)
            d = await self._step(b"DATA\r\n")
        if d.code != 354:
            if not 200 <= m.code < 300:
                return self._refused(m, "mail", sender, recipient)
            if not 200 <= r.code < 300:
                return self._refused(r, "rcpt", sender, recipient)
            return self._refused(d, "data", sender, recipient)
        if not (200 <= m.code < 300 and 200 <= r.code < 300):
            # A server that said 354 without a recipient gets an empty message ended at once.
            self.wire.write(b".\r\n")
            await self.wire.read(1, self.command_timeout)
            stage: SmtpStage = "mail" if m.code >= 300 else "rcpt"
            return self._refused(m if m.code >= 300 else r, stage, sender, recipient)
        # An unsafe next address is not pipelined: its own send() refuses it, unwritten.
        if then is not None and self.pipelining and refuse_address(*then) is None:
            self.wire.write(data, b".\r\n", self._envelope(*then))
            self.ahead = then
        else:
            self.wire.write(data, b".\r\n")
        final = (await self.wire.read(1, self.data_timeout))[0]
        if final is self._accepted[0]:  # the same reply object as last time (Wire._known)
            return self._accepted[1]
        outcome = classify(final.code, final.text, stage="data", sender=sender, recipient=recipient)
        if isinstance(outcome, Sent):  # says nothing about the envelope: reusable
            self._accepted = (final, outcome)
        return outcome

    async def _step(self, command: bytes) -> Reply:
        self.wire.write(command)
        return (await self.wire.read(1, self.command_timeout))[0]

    def _refused(self, reply: Reply, stage: SmtpStage, sender: str, recipient: str) -> Outcome:
        self.dirty = True
        return classify(reply.code, reply.text, stage=stage, sender=sender, recipient=recipient)

    async def noop(self) -> bool:
        try:
            return (await self._step(b"NOOP\r\n")).code == 250
        except ConnectionBroken:
            return False
