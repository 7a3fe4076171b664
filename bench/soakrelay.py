"""A fault-injecting SMTP relay for the soak test: aiosmtpd on 127.0.0.1, port 0, in a thread.

Each message draws at most one fault, at random, with the probabilities in ``Faults``:

- ``drop_mid_data``: the connection is aborted while the message body arrives (not accepted);
- ``drop_before_reply``: the message is kept, then the connection is aborted before the 250
  (the client cannot know it arrived: a retry is an unavoidable duplicate);
- ``no_reply``: the message is kept and the final reply never comes (the client times out);
- ``slow_final``: the message is kept and the 250 comes after a few seconds;
- ``close_421``: ``421`` at RCPT or at the final reply, then the relay closes the connection;
- ``temp_4xx``: ``450 4.2.1`` at RCPT or ``451 4.3.0`` at the final reply;

and every recipient in ``Faults.unknown`` is refused with ``550 5.1.1`` at RCPT.

Every kept message is recorded as an ``Accepted``: recipient, Message-ID (the outbox row's
identity: ``core/messageids.sent``, from its dedupe key and id), wall-clock time, and the
fault that followed.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Faults:
    """Per-message fault probabilities (each message draws at most one)."""

    drop_mid_data: float = 0.002
    drop_before_reply: float = 0.0005
    no_reply: float = 0.0003
    slow_final: float = 0.002
    close_421: float = 0.002
    temp_4xx: float = 0.01
    slow_seconds: tuple[float, float] = (1.5, 3.0)
    no_reply_seconds: float = 60.0  # longer than the client's data timeout
    unknown: frozenset[str] = frozenset()  # answered 550 5.1.1 at RCPT, always

    def scaled(self, factor: float) -> Faults:
        kw = {k: min(1.0, getattr(self, k) * factor) for k in KINDS}
        return Faults(**kw, slow_seconds=self.slow_seconds,
                      no_reply_seconds=self.no_reply_seconds, unknown=self.unknown)  # fmt: skip

    def draw(self, rng: random.Random) -> str:
        """One fault kind for the next message, or "" for none."""
        x = rng.random()
        for kind in KINDS:
            p = float(getattr(self, kind))
            if x < p:
                return kind
            x -= p
        return ""


KINDS = ("drop_mid_data", "drop_before_reply", "no_reply", "slow_final", "close_421", "temp_4xx")


@dataclass(frozen=True, slots=True)
class Accepted:
    recipient: str
    message_id: str
    at: float  # time.time() when the relay had the whole message
    fault: str  # "", "slow_final", "drop_before_reply" or "no_reply"


@dataclass
class Log:
    """What the relay did. Appended on the relay's thread; read by the harness."""

    accepted: list[Accepted] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    refused_unknown: int = 0
    connections: int = 0


class _Handler:
    def __init__(self, faults: Faults, log: Log, rng: random.Random) -> None:
        self.faults, self.log, self.rng = faults, log, rng

    async def handle_EHLO(
        self, server: Any, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Drawn here, in command order: with PIPELINING the next MAIL FROM arrives in the same
        # read as this message's body, so a draw in data_received would come too early.
        server.fault = self.faults.draw(self.rng)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.faults.unknown:
            self.log.refused_unknown += 1
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        fault = server.fault
        if fault == "temp_4xx" and self.rng.random() < 0.5:
            self.log.faults[fault] += 1
            server.fault = ""
            return "450 4.2.1 <" + address + ">: mailbox busy, try again later"
        if fault == "close_421" and self.rng.random() < 0.5:
            self.log.faults[fault] += 1
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 mx.soak closing connection: too busy (at RCPT)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        fault, server.fault = server.fault, ""
        if fault == "temp_4xx":
            self.log.faults[fault] += 1
            return "451 4.3.0 temporary failure, try again later"
        if fault == "close_421":
            self.log.faults[fault] += 1
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 mx.soak closing connection: too busy"
        data = bytes(envelope.original_content or b"")
        head = data[: data.find(b"\r\n\r\n")]
        found = _MESSAGE_ID.search(head)
        mid = found.group(1).decode("ascii", "replace") if found else ""
        kept = fault if fault in ("slow_final", "drop_before_reply", "no_reply") else ""
        for rcpt in envelope.rcpt_tos:
            self.log.accepted.append(Accepted(rcpt, mid, time.time(), kept))
        if kept:
            self.log.faults[kept] += 1
        if kept == "drop_before_reply":
            server.transport.abort()
        elif kept == "no_reply":
            await asyncio.sleep(self.faults.no_reply_seconds)
        elif kept == "slow_final":
            await asyncio.sleep(self.rng.uniform(*self.faults.slow_seconds))
        return "250 2.0.0 Ok: queued"


class _Server(SMTP):
    """Holds the fault drawn for the current message; aborts mid-body for drop_mid_data."""

    def __init__(self, handler: _Handler) -> None:
        super().__init__(handler, hostname="mx.soak", decode_data=False, enable_SMTPUTF8=True)
        self._h = handler
        self.fault = ""
        self._in_body = False

    def connection_made(self, transport: Any) -> None:
        self._h.log.connections += 1
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._in_body and self.fault == "drop_mid_data" and len(data) > 100:
            self._h.log.faults["drop_mid_data"] += 1
            self.fault = ""
            assert isinstance(self.transport, asyncio.Transport)
            self.transport.abort()
            return
        self._in_body = data.endswith(b"DATA\r\n")
        super().data_received(data)


class FaultRelay:
    """The relay on its own event loop in a daemon thread; ``with FaultRelay(...) as relay``."""

    def __init__(self, faults: Faults, *, seed: int) -> None:
        self.log = Log()
        self._handler = _Handler(faults, self.log, random.Random(seed))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def _start(self) -> None:
        self._server = await self._loop.create_server(
            lambda: _Server(self._handler), "127.0.0.1", 0
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    def __enter__(self) -> FaultRelay:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"
