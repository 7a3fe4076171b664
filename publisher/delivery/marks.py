"""The drain's outcomes not yet written down, committed in batches.

At-least-once: a row is marked ``sent`` only after the server's 250, and marks are committed
``mark_batch`` at a time in the background, waiting only while the previous batch is still
committing. So at most two batches are unrecorded at any moment (one committing, one
filling): with the messages on the wire, that is the drain's ``duplicate_bound``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set as AbstractSet

from publisher.delivery.dbthread import Abandoned, DbThread
from publisher.delivery.ports import DrainOutbox
from publisher.delivery.smtpwire import Failed, Outcome, RetryAt
from publisher.messages.enqueue import Claimed


class Marks:
    def __init__(self, store: DrainOutbox, db: DbThread, batch: int) -> None:
        self._store, self._db, self._batch = store, db, batch
        self.sent: list[int] = []
        self.others: list[tuple[Claimed, Outcome]] = []
        self._lock = asyncio.Lock()
        self._committing: asyncio.Future[None] | None = None

    def retake(self, ids: AbstractSet[int]) -> None:
        """Held failures of ``ids`` become "return path refused": no attempt used, nobody
        suppressed (they were not written down yet)."""
        if ids:
            self.others = [
                (i, RetryAt(o.reply, sender=True) if i.id in ids and isinstance(o, Failed) else o)
                for i, o in self.others
            ]

    @property
    def full(self) -> bool:
        return len(self.sent) + len(self.others) >= self._batch

    async def commit_if_full(self) -> None:
        if self.full:
            # Commit in the background so this connection keeps sending; wait only if the
            # previous batch is still committing (so at most two batches are unrecorded).
            if self._committing is not None:
                # Shielded: a worker cancelled here must not cancel the commit, whose call
                # may already be running on the database thread (it would commit anyway, and
                # the batch, put back as unwritten, would be applied a second time).
                await asyncio.shield(self._committing)
            self._committing = asyncio.ensure_future(self.flush())

    async def settle(self) -> None:
        """Let the batch being committed in the background finish (its errors are dropped:
        its marks are kept for the next flush)."""
        if self._committing is not None:
            await asyncio.gather(self._committing, return_exceptions=True)

    async def flush(self, deadline: float | None = None) -> None:
        """Commit the outcomes held. While the database is down this waits (the workers then
        wait too, so at most two batches are unrecorded); once stopping, the final flush
        (with a ``deadline``) takes over."""
        async with self._lock:
            sent, others = self.sent, self.others
            self.sent, self.others = [], []
            if not (sent or others):
                return
            try:
                await self._db.retry(
                    self._store.apply, sent, others, deadline=deadline,
                    abandon_on_stop=deadline is None,
                )  # fmt: skip
            except BaseException as exc:
                # Not written down: keep them for the next flush (or the lease).
                self.sent, self.others = sent + self.sent, others + self.others
                if isinstance(exc, Abandoned) and deadline is None:
                    return
                raise
