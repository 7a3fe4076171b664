"""Transports chosen by smtp_url, and a pool of persistent connections.

The only module that imports aiosmtplib. It connects, greets, negotiates STARTTLS and AUTH;
the transaction itself runs on ``smtpwire.Wire`` (pipelined when advertised). Every
aiosmtplib or socket error is turned into an outcome or ``RelayUnavailable`` here, so no
caller ever sees a library exception.
"""

from __future__ import annotations

import asyncio
import mailbox
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

import aiosmtplib

from publisher.core.errors import InputError
from publisher.delivery.ports import RelayUnavailable, Session
from publisher.delivery.smtpwire import (
    ConnectionBroken,
    Failed,
    Outcome,
    RetryAt,
    Sent,
    Transaction,
    Wire,
    refuse_address,
    unstuff,
)

__all__ = ["Failed", "Mailer", "Outcome", "RelayUnavailable", "RetryAt", "Sent", "Session"]

_IDLE_CHECK = 30.0  # seconds idle before a pooled connection is checked with NOOP


@dataclass
class RelayBackoff:
    """A ``421`` mid-session means the relay is shedding load: it closes that session (every
    message on it is deferred with the relay's words), and new connections wait, twice as
    long after each further 421 (``base`` seconds first). ``limit`` 421s in a row with no
    message accepted in between make the relay unavailable for this run.

    421s on connections that were already open count once: only a 421 on a connection
    opened after the previous one is a new strike.
    """

    base: float = 1.0
    limit: int = 5
    strikes: int = 0
    until: float = 0.0  # time.monotonic() before which no new connection is opened
    last: str = ""
    opened: int = 0  # connections opened so far (a session's generation)
    _mark: int = 0  # connections opened when the last strike was counted

    def closed(self, reply: str, generation: int) -> None:
        self.last = reply
        if generation > self._mark:
            self.strikes += 1
            self._mark = self.opened
            self.until = time.monotonic() + self.base * 2 ** (self.strikes - 1)

    def accepted(self) -> None:
        self.strikes = 0

    async def wait(self) -> None:
        if self.strikes >= self.limit:
            raise RelayUnavailable(self.last)
        delay = self.until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True, slots=True)
class Endpoint:
    scheme: str
    host: str = ""
    port: int = 0
    username: str | None = None
    password: str | None = None
    path: Path | None = None

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        if url.startswith("maildir://"):
            return cls(scheme="maildir", path=Path(url[len("maildir://") :]))
        parts = urlsplit(url)
        ports = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
        if parts.scheme not in ports or not parts.hostname:
            raise InputError("smtp_url", f"unsupported or incomplete URL {url!r}")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or ports[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpSession:
    def __init__(
        self, tx: Transaction, backoff: RelayBackoff | None = None, generation: int = 0
    ) -> None:
        self._tx = tx
        self._broken = False
        self._backoff = backoff
        self._generation = generation
        self.last_used = time.monotonic()

    @property
    def healthy(self) -> bool:
        return not self._broken and self._tx.wire.alive

    @property
    def busy(self) -> bool:
        """A pipelined envelope is outstanding: the session belongs to that next message."""
        return self._tx.ahead is not None

    @property
    def pipelining(self) -> bool:
        return self._tx.pipelining

    @property
    def reads(self) -> int:
        return self._tx.wire.reads

    async def send(
        self, sender: str, recipient: str, data: bytes, then: tuple[str, str] | None = None
    ) -> Outcome:
        """Send one message; ``then`` pipelines the next message's envelope behind it."""
        try:
            outcome = await self._tx.send(sender, recipient, data, then)
        except (ConnectionBroken, OSError) as exc:
            self._broken = True
            self.close()
            outcome = RetryAt(self._tx.wire.closing or f"451 4.4.2 {exc}")
        finally:
            self.last_used = time.monotonic()
        if self._backoff is not None:
            if self._tx.wire.closing is not None:
                self._backoff.closed(self._tx.wire.closing, self._generation)
            elif isinstance(outcome, Sent):
                self._backoff.accepted()
        return outcome

    async def check(self) -> bool:
        if time.monotonic() - self.last_used < _IDLE_CHECK:
            return self.healthy
        ok = await self._tx.noop()
        self._broken = self._broken or not ok
        return ok

    def close(self) -> None:
        self._tx.wire.close()


class MaildirSession:
    """One file per message, readable by mailbox.Maildir; the envelope goes in Delivered-To."""

    def __init__(self, path: Path) -> None:
        # mailbox.Maildir creates the folders only when the path itself is missing: an
        # existing empty folder (one made by the operator) would defer every message.
        try:
            for sub in ("tmp", "new", "cur"):
                (path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RelayUnavailable(f"451 4.3.0 maildir {path}: {exc.strerror}") from None
        self._box = mailbox.Maildir(path, create=True)

    healthy = True
    busy = False
    pipelining = False

    async def send(
        self, sender: str, recipient: str, data: bytes, then: tuple[str, str] | None = None
    ) -> Outcome:
        if refused := refuse_address(sender, recipient):
            return refused
        message = b"Delivered-To: " + recipient.encode() + b"\r\n" + unstuff(data)
        try:
            self._box.add(message)
        except OSError as exc:
            return RetryAt(f"451 4.3.0 maildir: {exc.strerror}")
        return Sent("250 2.0.0 written to maildir")

    async def check(self) -> bool:
        return True

    def close(self) -> None:
        pass


@dataclass
class Mailer:
    """A pool of up to ``pool_size`` sessions, each reused for many messages."""

    url: str
    pool_size: int = 8
    connect_timeout: float = 30.0
    command_timeout: float = 60.0
    data_timeout: float = 600.0
    tls_context: ssl.SSLContext | None = None
    local_hostname: str | None = None
    busy_backoff: float = 1.0  # seconds before reconnecting after a 421; doubles per 421
    endpoint: Endpoint = field(init=False)
    _idle: list[Session] = field(init=False, default_factory=list)
    _slots: asyncio.Semaphore | None = field(init=False, default=None)
    connections_made: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.endpoint = Endpoint.parse(self.url)
        self.backoff = RelayBackoff(base=self.busy_backoff)

    async def acquire(self) -> Session:
        """A healthy session: a pooled one (checked when idle long) or a new connection."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.pool_size)
        await self._slots.acquire()
        try:
            while self._idle:
                session = self._idle.pop()
                if await session.check():
                    return session
                session.close()
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    def release(self, session: Session) -> None:
        if session.healthy and not session.busy:
            self._idle.append(session)
        else:
            session.close()
        assert self._slots is not None
        self._slots.release()

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def _connect(self) -> Session:
        ep = self.endpoint
        if ep.scheme == "maildir":
            assert ep.path is not None
            return MaildirSession(ep.path)
        await self.backoff.wait()
        client = aiosmtplib.SMTP(
            hostname=ep.host,
            port=ep.port,
            username=ep.username,
            password=ep.password,
            use_tls=ep.scheme == "smtps",
            start_tls=ep.scheme == "smtp+starttls",
            tls_context=self.tls_context,
            timeout=self.connect_timeout,
            local_hostname=self.local_hostname,
        )
        try:
            await client.connect()
            if not client.esmtp_extensions:
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise RelayUnavailable(f"{exc.code} {exc.message}", permanent=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            raise RelayUnavailable(f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            client.close()
            reply = f"421 4.4.1 cannot connect to {ep.host}:{ep.port}: {exc}"
            raise RelayUnavailable(reply) from None
        protocol = client.protocol
        transport = protocol.transport if protocol is not None else None
        if protocol is None or transport is None or transport.is_closing():
            raise RelayUnavailable(f"421 4.4.1 {ep.host}:{ep.port} closed the connection")
        wire = Wire()
        wire.attach(cast(asyncio.Transport, transport), unread_bytes(protocol))
        ext = client.esmtp_extensions
        self.connections_made += 1
        self.backoff.opened += 1
        tx = Transaction(
            wire=wire,
            pipelining="pipelining" in ext,
            eightbit="8bitmime" in ext,
            command_timeout=self.command_timeout,
            data_timeout=self.data_timeout,
        )
        return SmtpSession(tx, self.backoff, self.backoff.opened)


def unread_bytes(protocol: object) -> bytes:
    """What aiosmtplib's protocol received but has not parsed yet (a pipelining server may
    already have sent more), handed to our own wire so nothing is lost at the switch.

    aiosmtplib has no public API for it: ``SMTPProtocol._buffer`` is private. Rather than
    default quietly when a release renames it (replies would go missing), fail loudly here;
    tests/delivery/test_aiosmtplib_private.py pins the attribute for the installed release.
    """
    buffered = getattr(protocol, "_buffer", None)
    if not isinstance(buffered, bytes | bytearray):
        raise RuntimeError(
            "aiosmtplib changed: SMTPProtocol._buffer is gone; see delivery/mailer.unread_bytes"
        )
    return bytes(buffered)
