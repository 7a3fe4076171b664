"""What the drain needs from the outside: a store side and a transport (its two ports).

Declared next to the drain, as listmonk's manager declares ``Store`` and ``Messenger``: the
drain is typed against these Protocols only; ``drainstore.DrainStore`` (the outbox tables)
and ``mailer.Mailer`` (SMTP or a maildir) are the real adapters, and mypy checks that they
fit. A test may hand the drain any other object with the same shape.
"""

from __future__ import annotations

from typing import Protocol

from publisher.core.errors import PublisherError
from publisher.delivery.drainstore import Report
from publisher.delivery.smtpwire import Outcome
from publisher.messages.enqueue import Claimed

__all__ = ["DrainOutbox", "RelayUnavailable", "Session", "Transport"]


class DrainOutbox(Protocol):
    """The drain's store side. Blocking: every call runs on the drain's database thread, and
    may raise one of ``drainstore.StoreUnavailable`` (retried by the drain)."""

    @property
    def owner(self) -> str:
        """The lease owner id of this drain."""

    @property
    def report(self) -> Report:
        """The run's counts, kept by the store as it writes outcomes down."""

    def claim(self, limit: int, known: set[int]) -> tuple[list[Claimed], dict[int, bytes]]:
        """Lease up to ``limit`` due rows; also the bodies of contents not in ``known``."""

    def recheck(self, items: list[Claimed]) -> list[Claimed]:
        """The items still allowed to go (suppressions read again)."""

    def content(self, content_id: int) -> bytes:
        """One stored message body."""

    def apply(self, sent: list[int], others: list[tuple[Claimed, Outcome]]) -> None:
        """Mark one batch of outcomes: sent, deferred with backoff, failed."""

    def postpone(self, item: Claimed, reply: str) -> None:
        """Defer a row without using an attempt (the relay could not be reached)."""

    def unanswered(self, items: list[Claimed]) -> None:
        """Defer messages whose final reply never came before the stop."""

    def release(self, ids: list[int]) -> None:
        """Hand untried rows back, claimable at once."""

    def renew(self) -> set[int]:
        """Extend the held leases; returns the ids no longer ours."""

    def free_dead(self) -> int:
        """Make the rows of dead drains on this host claimable; returns how many."""


class RelayUnavailable(PublisherError):
    """No connection could be made (refused, 421 greeting, TLS or AUTH failure)."""

    def __init__(self, reply: str, *, permanent: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


class Session(Protocol):
    """One connection to the relay (or a maildir), reused for many messages."""

    @property
    def healthy(self) -> bool: ...

    @property
    def busy(self) -> bool: ...

    @property
    def pipelining(self) -> bool: ...

    async def send(
        self, sender: str, recipient: str, data: bytes, then: tuple[str, str] | None = None
    ) -> Outcome: ...

    async def check(self) -> bool: ...

    def close(self) -> None: ...


class Transport(Protocol):
    """The drain's transport: a pool of sessions."""

    async def acquire(self) -> Session:
        """A healthy session; raises ``RelayUnavailable`` when none can be made."""

    def release(self, session: Session) -> None:
        """Give a session back (kept for reuse while healthy and idle)."""

    async def close(self) -> None:
        """Close the idle sessions."""
