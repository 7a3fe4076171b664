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
from dataclasses import dataclass
from typing import NamedTuple

from publisher.core.errors import PublisherError
from publisher.core.vocab import SmtpStage


class Reply(NamedTuple):
    """One complete SMTP reply: the three-digit code (0 if the server sent none) and its
    text, continuation lines joined by newlines."""

    code: int
    text: str


# --- outcomes: what the drain needs to know about one message ---


@dataclass(frozen=True, slots=True)
class Sent:
    reply: str


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Temporary: try again later. ``policy`` marks reputation/policy refusals (x.7.x);
    ``sender`` marks a refusal of our envelope sender (the return path), which says nothing
    about the recipient: the run pauses, nobody is failed or suppressed."""

    reply: str
    policy: bool = False
    sender: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    """Permanent. ``hard_bounce``: the address does not exist, so suppress it."""

    reply: str
    hard_bounce: bool = False


Outcome = Sent | RetryAt | Failed

_UNSAFE = re.compile(r"[\r\n<>\s]")
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


# x.1.7 (bad sender mailbox syntax) and x.1.8 (bad sender system address) describe the
# sender wherever they come (RFC 3463).
_SENDER_DETAILS = {"7", "8"}

# Words with which a relay says the refusal is about the envelope sender, not the recipient
# (Postfix: "Sender address rejected", Exim: "sender verify failed").
_SENDER_WORDS = re.compile(r"\b(sender|return[- ]path)\b", re.I)
# Postfix's own prefix for a recipient refusal wins over any later mention of a sender.
_RECIPIENT_REJECTED = re.compile(r"\brecipient address rejected\b", re.I)
# Words that name the recipient's mailbox. Checked only after the sender words: Postfix's
# reject_unlisted_sender says "Sender address rejected: User unknown in local recipient table".
_RECIPIENT_WORDS = re.compile(
    r"\b(recipient|no such (user|mailbox|address)|user unknown|unknown user|mailbox"
    r"|does not exist|doesn't exist|not found|invalid address)\b",
    re.I,
)


def names_sender(text: str, *, sender: str = "", recipient: str = "") -> bool:
    """Does the reply text say the refusal is about our envelope sender (the return path)?

    Either in words ("Sender address rejected") or by quoting the sender's address (and not
    the recipient's: a reply quoting both is read as being about the recipient)."""
    if _RECIPIENT_REJECTED.search(text):
        return False
    if _SENDER_WORDS.search(text):
        return True
    low = text.lower()
    return bool(sender) and sender.lower() in low and not (recipient and recipient.lower() in low)


def names_recipient(text: str, *, recipient: str = "") -> bool:
    """Does the reply text clearly point at the recipient's mailbox?"""
    return bool(_RECIPIENT_WORDS.search(text)) or bool(
        recipient and recipient.lower() in text.lower()
    )


def classify(
    code: int, text: str, *, stage: SmtpStage, sender: str = "", recipient: str = ""
) -> Outcome:
    """One SMTP reply → outcome, by the stage (mail, rcpt or data), the enhanced code and,
    where the code is ambiguous, the reply text (``sender``/``recipient``: the envelope).

    A refusal at MAIL FROM, an x.1.7/x.1.8 anywhere, or an x.1.x (or a bare 5xx to RCPT)
    whose text names our sender (Postfix rejects the sender at RCPT TO by default, with "550 5.1.0
    <sender>: Sender address rejected: …") is about our return path, never about the
    recipient: it must not fail or suppress anyone (one such reply would otherwise wipe a
    whole list), so it is a ``sender`` retry that pauses the run. An x.1.0 ("other address
    status") suppresses only when its text clearly names the recipient; otherwise it is
    retried like a temporary refusal.
    """
    reply = f"{code} {text}".strip()[:500]
    if 200 <= code < 300:
        return Sent(reply)
    m = _ENHANCED.match(text)
    klass, subject, detail = m.groups() if m else ("", "", "")
    if subject == "7" and klass in ("4", "5"):
        return RetryAt(reply, policy=True)
    if subject == "1" and detail in _SENDER_DETAILS and klass in ("4", "5"):
        return RetryAt(reply, sender=True)
    if stage == "mail" and code >= 500 and code != 552:
        return RetryAt(reply, sender=True)
    about_address = subject == "1" or (not m and stage == "rcpt" and code >= 500)
    if about_address and names_sender(text, sender=sender, recipient=recipient):
        return RetryAt(reply, sender=True)
    if code == 552 or 400 <= code < 500:  # 552: mailbox full, often temporary in practice
        return RetryAt(reply)
    if klass == "5" and subject == "1":
        if detail == "0" and not names_recipient(text, recipient=recipient):
            return RetryAt(reply)  # ambiguous: nobody is blamed, the row is tried again later
        return Failed(reply, hard_bounce=True)
    if stage == "rcpt" and code == 550:
        return Failed(reply, hard_bounce=True)
    if code >= 500:
        return Failed(reply)
    return RetryAt(reply)


def refuse_address(sender: str, recipient: str) -> Failed | None:
    """An address that would break out of MAIL FROM:<…> / RCPT TO:<…> is never sent."""
    if _UNSAFE.search(recipient) or _UNSAFE.search(sender):
        return Failed(f"501 5.1.3 refused to send to {recipient!r}: not a plain address")
    return None


def prepare(body: bytes) -> bytes:
    """Message bytes as they go after DATA: CRLF line endings, dot-stuffed, CRLF at the end."""
    if re.search(rb"(?<!\r)\n", body):
        body = re.sub(rb"\r?\n", b"\r\n", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    body = body.replace(b"\r\n.", b"\r\n..")
    return b"." + body if body.startswith(b".") else body


def unstuff(data: bytes) -> bytes:
    data = data.replace(b"\r\n..", b"\r\n.")
    return data[1:] if data.startswith(b"..") else data


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class ConnectionBroken(PublisherError):
    """The connection dropped or a reply timed out; the session must be discarded."""


class Wire(asyncio.Protocol):
    """Reply parser over a transport: every complete reply in the buffer is kept."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._lines: list[str] = []
        self._replies: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._want = 0
        self._lost: str | None = None
        self.closing: str | None = None  # a 421 reply: the server is closing this session
        self.reads = 0  # data_received calls; tests use it to see the grouping

    def attach(self, transport: asyncio.Transport, leftover: bytes = b"") -> None:
        self.transport = transport
        transport.set_protocol(self)
        if leftover:
            self.data_received(leftover)

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        buf = self._buf
        buf += data
        end = buf.rfind(b"\n")
        if end < 0:
            return
        complete = bytes(buf[: end + 1])
        del buf[: end + 1]
        # A pipelined stream brings several replies per read (the last message's 250 and the
        # next envelope's three): one split, and a single-line reply is never joined.
        for raw in complete.split(b"\n")[:-1]:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if len(line) >= 4 and line[3] == "-":
                self._lines.append(line[4:])
                continue
            code = int(line[:3]) if line[:3].isdigit() else 0
            if self._lines:
                self._lines.append(line[4:])
                text = "\n".join(self._lines).strip()
                self._lines = []
            else:
                text = line[4:].strip()
            self._replies.append(Reply(code, text))
            if code == 421 and self.closing is None:  # RFC 5321 4.2.2: it will hang up
                self.closing = f"421 {text}"[:500]
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        # After a 421 the relay's own words say why; "connection closed" would hide them.
        lost = f"connection lost: {exc}" if exc else "connection closed by server"
        self._lost = self.closing or lost
        self.transport = None
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
        if len(self._replies) < n:
            if self._lost:
                raise ConnectionBroken(self._lost)
            self._want = n
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            # A bare timer handle: asyncio.timeout() costs several times more per reply.
            timer = loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            except TimeoutError:
                raise ConnectionBroken(f"timeout after {timeout:g} s") from None
            finally:
                timer.cancel()
                self._waiter = None
            if len(self._replies) < n:
                raise ConnectionBroken(self._lost or "connection closed")
        return [self._replies.popleft() for _ in range(n)]

    def close(self) -> None:
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

    def _envelope(self, sender: str, recipient: str) -> bytes:
        body = " BODY=8BITMIME" if self.eightbit else ""
        return f"MAIL FROM:<{sender}>{body}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()

    async def send(
        self, sender: str, recipient: str, data: bytes, then: tuple[str, str] | None = None
    ) -> Outcome:
        """``data`` is prepared (CRLF, dot-stuffed, CRLF-terminated)."""
        if refused := refuse_address(sender, recipient):
            return refused
        if self.pipelining:
            if self.ahead is not None:
                if self.ahead != (sender, recipient):
                    raise ConnectionBroken("pipelined envelope does not match the message")
                self.ahead = None
                m, r, d = await self.wire.read(3, self.command_timeout)
            else:
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
        if then is not None and self.pipelining:
            self.wire.write(data, b".\r\n", self._envelope(*then))
            self.ahead = then
        else:
            self.wire.write(data, b".\r\n")
        final = (await self.wire.read(1, self.data_timeout))[0]
        return classify(final.code, final.text, stage="data", sender=sender, recipient=recipient)

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
