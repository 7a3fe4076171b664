"""Drain the outbox through the mailer: claim → personalise → send → mark.

At-least-once, with at most ``duplicate_bound = 2 × mark_batch + pool_size`` messages sent
twice after a crash (marks.py). Held rows keep their lease while they wait (renewed every
third of ``lease_duration``); a drain is never handed a row it already holds. Rows reach the
workers after one more suppression lookup. Database errors are retried with backoff
(dbthread.py): the drain waits, it does not die. Replies that speak for every message pause
the run (replies.py). The drain knows its store and transport only through ports.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable

from publisher.core.clock import Clock
from publisher.delivery.dbthread import Abandoned, DbThread, wait_for
from publisher.delivery.deferlog import DeferralLog
from publisher.delivery.dkimsign import DkimError
from publisher.delivery.drainstore import (
    LIVE_OWNERS,
    DeliverConfig,
    DrainStore,
    Report,
    StoreUnavailable,
)
from publisher.delivery.feedpace import FeedPace
from publisher.delivery.leaseholder import Holder, this_holder
from publisher.delivery.marks import Marks
from publisher.delivery.personalise import Personaliser
from publisher.delivery.ports import DrainOutbox, RelayUnavailable, Session, Transport
from publisher.delivery.ratelimit import Permits
from publisher.delivery.replies import STOP_REASON, ReplyWatch, outcome_name
from publisher.delivery.smtpwire import Failed, Outcome, RetryAt, Sent
from publisher.messages import enqueue
from publisher.store.types import Engine

__all__ = ["STOP_REASON", "DeliverConfig", "Drain", "Report"]

log = logging.getLogger("publisher.delivery.drain")


class Drain:
    def __init__(
        self,
        engine: Engine | None,
        mailer: Transport,
        clock: Clock,
        *,
        config: DeliverConfig,
        transform: Callable[[bytes], bytes] | None = None,
        on_progress: Callable[[Report], None] | None = None,
        on_message: Callable[[str, str, str], None] | None = None,
        rng: random.Random | None = None,
        holder: Holder | None = None,
        store: DrainOutbox | None = None,
    ) -> None:
        """``store`` replaces the outbox tables of ``engine`` (its report is the run's)."""
        if store is None:
            if engine is None:
                raise TypeError("a drain needs an engine or a store")
            store = DrainStore(
                engine, clock, config, uuid.uuid4().hex[:16], Report(), rng or random.Random(),
                holder or this_holder(),
            )  # fmt: skip
        self.engine, self.mailer, self.clock, self.config = engine, mailer, clock, config
        self.on_progress, self.on_message = on_progress, on_message  # (outcome, kind, to)
        self.ledger: DrainOutbox = store
        self.owner, self.report = self.ledger.owner, self.ledger.report
        self.personalise = Personaliser(self.ledger.content, transform=transform)
        self._permits = Permits(config.rate, config.domain_limits)
        self._queue: asyncio.Queue[enqueue.Claimed | None] = asyncio.Queue()
        self._pending: deque[enqueue.Claimed] = deque()  # claimed, not yet re-checked
        self._inflight: dict[int, enqueue.Claimed] = {}
        self._on_wire: set[int] = set()  # message written, final reply awaited
        self._revoked: set[int] = set()  # leases lost (taken over): never send these
        self._stopping = asyncio.Event()
        self._replies = ReplyWatch(config, self.report, self.stop)
        self._db = DbThread(self.report, self._stopping, config.db_priority)
        self._marks = Marks(self.ledger, self._db, config.mark_batch)
        self._hungry = asyncio.Event()  # the workers' queue ran low: feed it
        self._pace = FeedPace(config)
        self._deferrals = DeferralLog(clock, log)

    def stop(self) -> None:
        """Stop claiming; in-flight messages finish (or are released after the grace period)."""
        self._stopping.set()
        self._hungry.set()  # wake the claimer

    async def run(self, *, until_empty: bool = True, max_seconds: float | None = None) -> Report:
        """Drain until stopped (or empty). On stop: no more claims, in-flight messages get
        ``grace`` to finish, every mark is committed, untried rows are handed back."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max_seconds, self.stop) if max_seconds else None
        LIVE_OWNERS.add(self.owner)
        workers = [asyncio.create_task(self._worker()) for _ in range(self.config.pool_size)]
        renewer = asyncio.create_task(self._renewer())
        errors: list[BaseException] = []
        try:
            await self._claimer(until_empty)
            for _ in workers:
                self._queue.put_nowait(None)
            done, pending = await asyncio.wait(workers, timeout=self.config.grace.total_seconds())
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            errors = [e for t in done if not t.cancelled() and (e := t.exception()) is not None]
        finally:
            if timer:
                timer.cancel()
            renewer.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(renewer, *workers, return_exceptions=True)
            try:
                await self._finish()
            finally:
                LIVE_OWNERS.discard(self.owner)
        if errors:
            raise errors[0]
        return self.report

    async def _finish(self) -> None:
        """Commit every mark, defer unanswered messages, release the rest (bounded in time)."""
        deadline = asyncio.get_running_loop().time() + max(self.config.grace.total_seconds(), 5)
        try:
            await self._marks.settle()
            await self._marks.flush(deadline)
            unanswered = [i for k, i in self._inflight.items() if k in self._on_wire]
            if unanswered:
                log.warning(
                    "%d message(s) got no final reply before shutdown_grace ran out: deferred "
                    "(the relay may have accepted them)", len(unanswered),
                )  # fmt: skip
                await self._db.retry(self.ledger.unanswered, unanswered, deadline=deadline)
            queued = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
            leftovers = [k for k in self._inflight if k not in self._on_wire]
            leftovers += [i.id for i in [*self._pending, *queued] if i is not None]
            if leftovers:
                await self._db.retry(self.ledger.release, leftovers, deadline=deadline)
        except Abandoned as exc:
            # Nothing is lost: the rows stay `sending` under this drain's lease, and are sent
            # again once it runs out (the crash case, within the duplicate bound).
            log.error("database unavailable at stop, marks left to the lease: %s", exc)
        finally:
            self._deferrals.flush()
            await self.mailer.close()
            await self._db.aclose(max(deadline - asyncio.get_running_loop().time(), 1.0))

    async def _claimer(self, until_empty: bool) -> None:
        per_5s = int(self.config.rate * 5) if self.config.rate > 0 else 500
        batch = max(self._pace.low_water, min(500, per_5s))
        try:
            await self._db.retry(self.ledger.free_dead, abandon_on_stop=True)
        except Abandoned:
            return
        while not self._stopping.is_set():
            hungry = self._pace.low(self._queue.qsize())
            if hungry and self._pending:
                await self._feed()
                continue
            if len(self._pending) >= batch // 2:  # enough claimed ahead: wait for the workers
                self._hungry.clear()
                if not self._pace.low(self._queue.qsize()):
                    await wait_for(self._hungry, 1.0)
                continue
            skipped = self.report.skipped
            try:
                items, bodies = await self._db.retry(
                    self.ledger.claim, batch - len(self._pending), self.personalise.known(),
                    abandon_on_stop=True,
                )  # fmt: skip
            except Abandoned:
                break
            for cid, body in bodies.items():
                self.personalise.add(cid, body)
            self._pending.extend(items)
            if items or self.report.skipped > skipped:
                continue
            if self._pending:  # nothing more due: feed what is claimed as the workers need it
                self._hungry.clear()
                if not self._pace.low(self._queue.qsize()):
                    await wait_for(self._hungry, 1.0)
                continue
            if until_empty and self._queue.empty() and not self._inflight:
                await self._marks.flush()
                return
            # Nothing to claim: commit the marks held below the batch size, or a forever drain
            # would keep its last sent rows `sending` until their lease ran out (and resend them).
            await self._marks.flush()
            await wait_for(self._stopping, 0.05 if until_empty else 1.0)
        # Stopping: rows not yet started go back at once (in _finish).

    async def _feed(self) -> None:
        """Hand the next few claimed rows to the workers, after one more suppression lookup."""
        chunk: list[enqueue.Claimed] = []
        size = self._pace.chunk_size(asyncio.get_running_loop().time())
        while self._pending and len(chunk) < size:
            item = self._pending.popleft()
            if item.id not in self._revoked:
                chunk.append(item)
        try:
            kept = await self._db.retry(self.ledger.recheck, chunk, abandon_on_stop=True)
        except Abandoned:
            self._pending.extendleft(reversed(chunk))  # released in _finish
            return
        for item in kept:
            self._queue.put_nowait(item)

    async def _renewer(self) -> None:
        """Keep the leases of held rows alive, and free dead drains' rows as they appear."""
        every = max(self.config.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                self._revoked |= await self._db.call(self.ledger.renew)
                await self._db.call(self.ledger.free_dead)
            except StoreUnavailable as exc:
                self._db.trouble(exc)

    # --- sending ---

    async def _worker(self) -> None:
        """Send items one by one on one session, pipelining the next envelope when allowed."""
        session: Session | None = None
        item = await self._next()
        permitted = False  # item's rate/domain permits were taken when it was prefetched
        sender = self.config.envelope_sender
        envelope: tuple[str, str] | None = None  # item's, when it was pipelined
        try:
            while item is not None:
                self._inflight[item.id] = item
                slot = None if permitted else await self._permit(item)
                if self._stopping.is_set() and not permitted:
                    if slot is not None:  # stopped while waiting for a permit: not sent,
                        slot.release()  # left in _inflight for run() to release
                    break
                try:
                    data: bytes | None = self.personalise(item)
                except ValueError as exc:  # DkimError too
                    data = None
                    await self._unmade(item, slot, exc)
                # A session with a pipelined envelope out is in use: no idle check is due.
                if data is not None and not (session and session.busy and session.healthy):
                    session = await self._ready(session, item, slot)
                if data is None or session is None:  # recorded, postponed, or stopping
                    if session is not None and session.busy:  # item's envelope is out on it:
                        self.mailer.release(session)  # closed, never used for another message
                        session = None
                    item, permitted, envelope = await self._next(), False, None
                    continue
                nxt = self._prefetch() if session.pipelining else None
                then = (sender(nxt.id), nxt.recipient) if nxt is not None else None
                self._on_wire.add(item.id)
                try:
                    outcome = await session.send(
                        envelope[0] if envelope else sender(item.id), item.recipient, data, then
                    )
                finally:
                    if slot is not None:
                        slot.release()
                if self._note(item, outcome):
                    await self._marks.commit_if_full()
                if self.on_progress is not None:
                    self.on_progress(self.report)
                if nxt is not None:
                    item, permitted, envelope = nxt, True, then
                else:
                    item, permitted, envelope = await self._next(), False, None
        except Exception:
            # A bug: stop cleanly (the rows are released), then raise.
            log.exception("delivery worker failed; stopping")
            self.stop()
            raise
        finally:
            if session is not None:
                self.mailer.release(session)

    async def _unmade(
        self, item: enqueue.Claimed, slot: asyncio.Semaphore | None, exc: ValueError
    ) -> None:
        """No message for the item: DKIM failing stops the run (the item left to release);
        any other ValueError fails the item. Its slot is released."""
        if slot is not None:
            slot.release()
        if isinstance(exc, DkimError):  # every message would fail the same way: stop, say why
            self._give_up(f"DKIM signing failed, nothing can be sent: {exc}")
        else:
            await self._record(item, Failed(f"554 5.6.0 {exc}"))

    async def _ready(
        self, session: Session | None, item: enqueue.Claimed, slot: asyncio.Semaphore | None
    ) -> Session | None:
        """The worker's session if it can go on (an idle one is checked), else a new one."""
        if session is not None:
            if (session.busy or await session.check()) and session.healthy:
                return session
            self.mailer.release(session)
        return await self._connect(item, slot)

    async def _connect(
        self, item: enqueue.Claimed, slot: asyncio.Semaphore | None
    ) -> Session | None:
        """A session from the pool; None (the slot released) when the relay is unavailable:
        then the run stops and ``item`` is postponed (or left to ``_finish`` to release)."""
        session = None
        try:
            session = await self.mailer.acquire()
        except RelayUnavailable as exc:
            if self.report.relay_down is None:  # one line, not one per connection
                self.report.relay_down = exc.reply
                log.error("relay unavailable, stopping this run: %s", exc.reply, extra=STOP_REASON)
            self.stop()
            with contextlib.suppress(Abandoned):  # else released by _finish
                await self._db.retry(self.ledger.postpone, item, exc.reply, abandon_on_stop=True)
                self._inflight.pop(item.id, None)
        finally:
            if slot is not None and session is None:
                slot.release()
        return session

    async def _permit(self, item: enqueue.Claimed) -> asyncio.Semaphore | None:
        """Domain, then rate permits; only a wait for the drain's rate counts as waiting
        (feedpace.py): rows held by a slow domain must not stop the feeding of the rest."""
        if self._permits.open:
            return None
        slot = await self._permits.take_domain(item.domain)
        self._pace.held += 1
        try:
            await self._permits.take_rate()
        finally:
            self._pace.held -= 1
            if self._pace.low(self._queue.qsize()):
                self._hungry.set()
        return slot

    def _give_up(self, reason: str) -> None:
        if self.report.error is None:
            self.report.error = reason
            log.error("delivery stopped: %s; untried rows are released", reason, extra=STOP_REASON)
        self.stop()

    async def _next(self) -> enqueue.Claimed | None:
        """The next item, or None once stopping (untaken items are released, not sent)."""
        while not self._stopping.is_set():
            item = await self._queue.get()
            if self._pace.low(self._queue.qsize()):
                self._hungry.set()
            if item is None or item.id not in self._revoked:
                return item
        return None

    def _prefetch(self) -> enqueue.Claimed | None:
        """The next item, if one is ready and may go now with no wait (no domain limit)."""
        if self._stopping.is_set() or self._queue.empty():
            return None
        nxt = self._queue._queue[0]  # type: ignore[attr-defined]
        if nxt is None or nxt.id in self._revoked:
            return None
        if not (self._permits.open or self._permits.take_now(nxt.domain)):
            return None
        item = self._queue.get_nowait()
        assert item is not None
        if self._pace.low(self._queue.qsize()):
            self._hungry.set()
        self._inflight[item.id] = item
        return item

    async def _record(self, item: enqueue.Claimed, outcome: Outcome) -> None:
        if self._note(item, outcome):
            await self._marks.commit_if_full()
        if self.on_progress is not None:
            self.on_progress(self.report)

    def _note(self, item: enqueue.Claimed, outcome: Outcome) -> bool:
        """Count and hold one outcome; True when the held marks make a batch to commit."""
        self._pace.recorded += 1
        outcome, retaken = self._replies.same_bounces(item, outcome)
        if retaken:
            self._marks.retake(retaken)
        self._inflight.pop(item.id, None)
        self._on_wire.discard(item.id)
        if isinstance(outcome, Sent):
            self._marks.sent.append(item.id)
            self.report.sent += 1
        else:
            self._marks.others.append((item, outcome))
            if isinstance(outcome, RetryAt) and not outcome.sender:  # (sender: the pause says)
                self._deferrals.note(outcome.reply)
        if self.on_message is not None:
            self.on_message(outcome_name(outcome), item.kind, item.recipient)
        self._replies.judge(outcome)
        return self._marks.full
