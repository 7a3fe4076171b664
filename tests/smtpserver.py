"""A real aiosmtpd server on 127.0.0.1, port 0, that can be told to misbehave."""

from __future__ import annotations

import asyncio
import email
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session


@dataclass
class Behaviour:
    pipelining: bool = True
    mail_reply: Callable[[str], str | None] = lambda _sender: None
    rcpt_reply: Callable[[str], str | None] = lambda _addr: None
    data_reply: Callable[[str], str | None] = lambda _rcpt: None
    final_delay: float = 0.0  # seconds before the final reply (the message is kept first)
    drop_mid_data: int = 0  # connections to abort as the message body arrives


@dataclass
class Record:
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)  # MAIL FROM of each kept message
    reads: int = 0
    grouped: int = 0  # reads carrying MAIL FROM, RCPT TO and DATA together
    connections: int = 0
    transports: list[Any] = field(default_factory=list)
    busy: int = 0  # messages being handled right now
    most_busy: int = 0

    def message_ids(self) -> Counter[str]:
        return Counter(
            str(email.message_from_bytes(data)["Message-ID"]) for _rcpt, data in self.messages
        )

    def recipients(self) -> Counter[str]:
        return Counter(rcpt for rcpt, _data in self.messages)


class Handler:
    def __init__(self, behaviour: Behaviour, record: Record) -> None:
        self.b, self.r = behaviour, record

    async def handle_EHLO(
        self, server: Any, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.b.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.b.mail_reply(address)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.b.rcpt_reply(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        rcpt = envelope.rcpt_tos[0]
        reply = self.b.data_reply(rcpt)
        if reply:
            return reply
        data = envelope.original_content or b""
        self.r.messages.append((rcpt, bytes(data)))
        self.r.senders.append(str(envelope.mail_from))
        self.r.busy += 1
        self.r.most_busy = max(self.r.most_busy, self.r.busy)
        try:
            if self.b.final_delay:
                await asyncio.sleep(self.b.final_delay)
        finally:
            self.r.busy -= 1
        return "250 2.0.0 queued"


class _Server(SMTP):
    def __init__(self, handler: Handler, **kw: Any) -> None:
        super().__init__(handler, hostname="mx.test", **kw)
        self._h = handler
        self._after_data = False

    def connection_made(self, transport: Any) -> None:
        self._h.r.connections += 1
        self._h.r.transports.append(transport)
        super().connection_made(transport)

    async def push(self, status: Any) -> None:
        await super().push(status)
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()  # RFC 5321: 421 closes the transmission channel

    def data_received(self, data: bytes) -> None:
        r, b = self._h.r, self._h.b
        r.reads += 1
        if b"MAIL FROM" in data and b"RCPT TO" in data and b"DATA\r\n" in data:
            r.grouped += 1
        if self._after_data and b.drop_mid_data > 0 and len(data) > 100:
            b.drop_mid_data -= 1
            assert isinstance(self.transport, asyncio.WriteTransport)  # connected by now
            self.transport.abort()
            return
        self._after_data = data.endswith(b"DATA\r\n")
        super().data_received(data)


@dataclass
class SmtpServer:
    behaviour: Behaviour = field(default_factory=Behaviour)
    record: Record = field(default_factory=Record)
    tls_context: ssl.SSLContext | None = None
    implicit_tls: bool = False  # smtps: TLS from the first byte instead of STARTTLS
    credentials: tuple[str, str] | None = None  # require AUTH with these
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> SmtpServer:
        handler = Handler(self.behaviour, self.record)
        kw: dict[str, Any] = {"decode_data": False, "enable_SMTPUTF8": True}
        if self.tls_context is not None and not self.implicit_tls:
            kw.update(tls_context=self.tls_context, require_starttls=True)
        if self.credentials is not None:
            kw.update(authenticator=self._authenticate, auth_require_tls=False, auth_required=True)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Server(handler, **kw),
            "127.0.0.1",
            self.port,  # 0 at first; a restart after stop() takes the same port again
            ssl=self.tls_context if self.implicit_tls else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login.decode(), data.password.decode("utf-8")) if data else None
        return AuthResult(success=given == self.credentials, handled=False)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


async def greeting_421_server() -> tuple[asyncio.AbstractServer, int]:
    """A server that greets with 421 and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"421 4.3.2 mx.test busy, try later\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


class ThreadedServer:
    """An SmtpServer on its own loop in a thread, for tests that drive a subprocess."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.server = SmtpServer(behaviour=behaviour or Behaviour())
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return self.server.url
