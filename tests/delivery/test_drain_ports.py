"""The drain knows its store and its transport only through the Protocols of delivery/ports.py:
any objects of that shape drive it, with no database and no SMTP server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from publisher.core.clock import FixedClock
from publisher.delivery.drain import DeliverConfig, Drain, Report
from publisher.delivery.drainstore import DrainStore
from publisher.delivery.mailer import Mailer
from publisher.delivery.ports import DrainOutbox, Session, Transport
from publisher.delivery.smtpwire import Outcome, RetryAt, Sent
from publisher.messages.enqueue import Claimed

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BODY = b"Subject: hello\r\nMessage-ID: %%MESSAGE_ID%%\r\n\r\nHello %%NAME%%.\r\n"


@dataclass
class MemoryOutbox:
    rows: list[Claimed]
    owner: str = "memory"
    report: Report = field(default_factory=Report)
    sent: list[int] = field(default_factory=list)
    deferred: list[tuple[int, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)

    def claim(self, limit: int, known: set[int]) -> tuple[list[Claimed], dict[int, bytes]]:
        taken, self.rows = self.rows[:limit], self.rows[limit:]
        return taken, {i.content_id: BODY for i in taken if i.content_id not in known}

    def recheck(self, items: list[Claimed]) -> list[Claimed]:
        return items

    def content(self, content_id: int) -> bytes:
        return BODY

    def apply(self, sent: list[int], others: list[tuple[Claimed, Outcome]]) -> None:
        self.sent += sent
        self.deferred += [(i.id, o.reply) for i, o in others]
        self.report.deferred += len(others)

    def postpone(self, item: Claimed, reply: str) -> None:
        self.deferred.append((item.id, reply))

    def unanswered(self, items: list[Claimed]) -> None:
        self.apply([], [(i, RetryAt("451 unanswered")) for i in items])

    def release(self, ids: list[int]) -> None:
        self.released += ids

    def renew(self) -> set[int]:
        return set()

    def free_dead(self) -> int:
        return 0


@dataclass
class RecordingSession:
    inbox: list[tuple[str, bytes]]
    healthy: bool = True
    busy: bool = False
    pipelining: bool = False

    async def send(
        self, sender: str, recipient: str, data: bytes, then: tuple[str, str] | None = None
    ) -> Outcome:
        if recipient.startswith("busy@"):
            return RetryAt("451 4.3.0 try later")
        self.inbox.append((recipient, data))
        return Sent("250 2.0.0 ok")

    async def check(self) -> bool:
        return True

    def close(self) -> None:
        pass


@dataclass
class RecordingTransport:
    inbox: list[tuple[str, bytes]] = field(default_factory=list)

    async def acquire(self) -> Session:
        return RecordingSession(self.inbox)

    def release(self, session: Session) -> None:
        pass

    async def close(self) -> None:
        pass


def _row(i: int, recipient: str) -> Claimed:
    return Claimed(
        id=i, kind="digest", recipient=recipient, content_id=1, substitutions={"%%NAME%%": "Kim"},
        message_id=f"<{i}@example.kr>", attempts=1, expires_at=NOW,
    )  # fmt: skip


def test_a_drain_runs_on_any_store_and_transport_of_the_ports_shape() -> None:
    store = MemoryOutbox([_row(1, "a@example.kr"), _row(2, "busy@example.kr"), _row(3, "c@x.kr")])
    transport = RecordingTransport()
    drain = Drain(
        None, transport, FixedClock(NOW), config=DeliverConfig(sender="news@example.kr"),
        store=store,
    )  # fmt: skip
    report = asyncio.run(drain.run())
    assert report is store.report
    assert (report.sent, report.deferred) == (2, 1)
    assert sorted(store.sent) == [1, 3]
    assert store.deferred == [(2, "451 4.3.0 try later")]
    assert sorted(r for r, _ in transport.inbox) == ["a@example.kr", "c@x.kr"]
    assert all(b"Hello Kim." in data for _, data in transport.inbox)


def test_the_real_adapters_fit_the_ports() -> None:
    # mypy checks these assignments; at run time they only have to exist.
    store: type[DrainOutbox] = DrainStore
    transport: type[Transport] = Mailer
    assert store is DrainStore and transport is Mailer
