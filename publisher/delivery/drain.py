"""Drain the outbox through the mailer: claim → personalise → send → mark.

At-least-once: a row is marked ``sent`` only after the server's 250. Sent marks are
committed in batches of ``mark_batch`` while at most ``pool_size`` messages are in flight,
so a crash can re-send at most ``duplicate_bound = 2 × mark_batch + pool_size`` messages
(one batch being committed, one filling, the messages on the wire).

Held rows keep their lease while they wait (renewed every third of ``lease_duration``), and a
drain is never handed a row it already holds. Just before rows are handed to the workers the
suppression list is read again (one query per small batch). Database errors (a lost
connection, a full disk) are retried with backoff: the drain waits, it does not die.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from publisher.core.clock import Clock
from publisher.core.config import Settings
from publisher.delivery.deferlog import DeferralLog
from publisher.delivery.dkimsign import DkimError
from publisher.delivery.drainstore import (
    LIVE_OWNERS,
    DeliverConfig,
    DrainStore,
    Report,
    StoreUnavailable,
)
from publisher.delivery.leaseholder import Holder, this_holder
from publisher.delivery.mailer import (
    Failed,
    Mailer,
    Outcome,
    RelayUnavailable,
    RetryAt,
    Sent,
    Session,
)
from publisher.delivery.personalise import Personaliser
from publisher.delivery.ratelimit import Bucket, DomainLimits, Limit
from publisher.messages import enqueue
from publisher.store.types import Engine

__all__ = ["STOP_REASON", "DeliverConfig", "Drain", "Report", "build_drain"]

log = logging.getLogger("publisher.delivery.drain")
T = TypeVar("T")
_BREAKER_WINDOW = 50
# Marks the log line that says why a run stopped on its own. The same reason is in the
# Report; `publisher deliver` prints it as its one last line and drops these records.
STOP_REASON = {"stop_reason": True}
_DB_RETRY_FIRST, _DB_RETRY_MAX = 0.05, 5.0  # seconds between database retries


class _Abandoned(Exception):
    """A database call was given up (stopping, or its deadline passed)."""


class Drain:
    def __init__(
        self,
        engine: Engine,
        mailer: Mailer,
        clock: Clock,
        *,
        config: DeliverConfig,
        transform: Callable[[bytes], bytes] | None = None,
        on_progress: Callable[[Report], None] | None = None,
        on_message: Callable[[str, str, str], None] | None = None,
        rng: random.Random | None = None,
        holder: Holder | None = None,
    ) -> None:
        self.engine, self.mailer, self.clock, self.config = engine, mailer, clock, config
        self.on_progress = on_progress
        self.on_message = on_message  # (outcome, kind, recipient), e.g. for metrics
        self.owner = uuid.uuid4().hex[:16]
        self.report = Report()
        self.ledger = DrainStore(
            engine, clock, config, self.owner, self.report, rng or random.Random(),
            holder or this_holder(),
        )  # fmt: skip
        self.personalise = Personaliser(self.ledger.content, transform=transform)
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="outbox-db")
        self._bucket = Bucket(config.rate)
        self._domains = DomainLimits(config.domain_limits)
        self._queue: asyncio.Queue[enqueue.Claimed | None] = asyncio.Queue()
        self._pending: deque[enqueue.Claimed] = deque()  # claimed, not yet re-checked
        self._inflight: dict[int, enqueue.Claimed] = {}
        self._on_wire: set[int] = set()  # message written, final reply awaited
        self._revoked: set[int] = set()  # leases lost (taken over): never send these
        self._sent: list[int] = []
        self._others: list[tuple[enqueue.Claimed, Outcome]] = []
        self._flush_lock = asyncio.Lock()
        self._committing: asyncio.Future[None] | None = None
        self._policy: deque[bool] = deque(maxlen=_BREAKER_WINDOW)
        self._bounces: dict[str, int] = {}  # the current run of identical hard bounces
        self._bounce_text = ""
        self._stopping = asyncio.Event()
        self._hungry = asyncio.Event()  # the workers' queue ran low: feed it
        self._recorded = 0  # outcomes so far, for the feeding rate
        self._fed = (0.0, 0, 0.0)  # (loop time, outcomes, messages/s) at the last feed
        self._deferrals = DeferralLog(clock, log)
        self._db_warned = 0.0

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
            if self._committing is not None:
                await asyncio.gather(self._committing, return_exceptions=True)
            await self._flush(deadline)
            unanswered = [i for k, i in self._inflight.items() if k in self._on_wire]
            if unanswered:
                log.warning(
                    "%d message(s) got no final reply before shutdown_grace ran out: deferred "
                    "(the relay may have accepted them)", len(unanswered),
                )  # fmt: skip
                await self._db_retry(self.ledger.unanswered, unanswered, deadline=deadline)
            leftovers = [k for k in self._inflight if k not in self._on_wire]
            leftovers += [i.id for i in self._pending]
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    leftovers.append(item.id)
            if leftovers:
                await self._db_retry(self.ledger.release, leftovers, deadline=deadline)
        except _Abandoned as exc:
            # Nothing is lost: the rows stay `sending` under this drain's lease, and are sent
            # again once it runs out (the crash case, within the duplicate bound).
            log.error("database unavailable at stop, marks left to the lease: %s", exc)
        finally:
            self._deferrals.flush()
            await self.mailer.close()
            self._db_thread.shutdown(wait=True)

    # --- claiming ---

    async def _claimer(self, until_empty: bool) -> None:
        batch = self._batch_size()
        try:
            await self._db_retry(self.ledger.free_dead, abandon_on_stop=True)
        except _Abandoned:
            return
        while not self._stopping.is_set():
            hungry = self._queue.qsize() < self._low_water()
            if hungry and self._pending:
                await self._feed()
                continue
            if len(self._pending) >= batch // 2:  # enough claimed ahead: wait for the workers
                self._hungry.clear()
                if self._queue.qsize() >= self._low_water():
                    await self._wait_hungry(1.0)
                continue
            skipped = self.report.skipped
            try:
                items, bodies = await self._db_retry(
                    self.ledger.claim, batch - len(self._pending), self.personalise.known(),
                    abandon_on_stop=True,
                )  # fmt: skip
            except _Abandoned:
                break
            for cid, body in bodies.items():
                self.personalise.add(cid, body)
            self._pending.extend(items)
            if items or self.report.skipped > skipped:
                continue
            if self._pending:  # nothing more due: feed what is claimed as the workers need it
                self._hungry.clear()
                if self._queue.qsize() >= self._low_water():
                    await self._wait_hungry(1.0)
                continue
            if until_empty and self._queue.empty() and not self._inflight:
                await self._flush()
                return
            # Nothing to claim: commit the marks held below the batch size, or a forever drain
            # would keep its last sent rows `sending` until their lease ran out (and resend them).
            await self._flush()
            await self._wait_stop(0.05 if until_empty else 1.0)
        # Stopping: rows not yet started go back at once (in _finish).

    def _low_water(self) -> int:
        return 2 * self.config.pool_size

    def _chunk_size(self) -> int:
        """About half a second of sending: the suppression list is read again at least that
        often for rows about to go, and the lookups stay few at thousands of messages/s."""
        at, recorded, rate = self._fed
        now = asyncio.get_running_loop().time()
        if at and now > at:
            rate = 0.7 * rate + 0.3 * (self._recorded - recorded) / (now - at)
        self._fed = (now, self._recorded, rate)
        return max(self._low_water(), min(500, int(rate / 2)))

    async def _wait_hungry(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._hungry.wait()
        except TimeoutError:
            pass

    async def _feed(self) -> None:
        """Hand the next few claimed rows to the workers, after one more suppression lookup."""
        chunk: list[enqueue.Claimed] = []
        size = self._chunk_size()
        while self._pending and len(chunk) < size:
            item = self._pending.popleft()
            if item.id not in self._revoked:
                chunk.append(item)
        try:
            kept = await self._db_retry(self.ledger.recheck, chunk, abandon_on_stop=True)
        except _Abandoned:
            self._pending.extendleft(reversed(chunk))  # released in _finish
            return
        for item in kept:
            self._queue.put_nowait(item)

    def _batch_size(self) -> int:
        per_5s = int(self.config.rate * 5) if self.config.rate > 0 else 500
        return max(self.config.pool_size * 2, min(500, per_5s))

    async def _wait_stop(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        except TimeoutError:
            pass

    async def _renewer(self) -> None:
        """Keep the leases of held rows alive, and free dead drains' rows as they appear."""
        every = max(self.config.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                self._revoked |= await self._db(self.ledger.renew)
                await self._db(self.ledger.free_dead)
            except StoreUnavailable as exc:
                self._db_trouble(exc)

    # --- sending ---

    async def _worker(self) -> None:
        """Send items one by one on one session, pipelining the next envelope when allowed."""
        session: Session | None = None
        item = await self._next()
        permitted = False  # item's rate/domain permits were taken when it was prefetched
        try:
            while item is not None:
                self._inflight[item.id] = item
                slot = None if permitted else await self._permit(item)
                if self._stopping.is_set() and not permitted:
                    if slot is not None:  # stopped while waiting for a permit: not sent,
                        slot.release()  # left in _inflight for run() to release
                    break
                try:
                    data = self.personalise(item)
                except DkimError as exc:
                    # Every message would fail the same way: stop, release, say why.
                    if slot is not None:
                        slot.release()
                    self._give_up(f"DKIM signing failed, nothing can be sent: {exc}")
                    break
                except ValueError as exc:
                    if slot is not None:
                        slot.release()
                    await self._record(item, Failed(f"554 5.6.0 {exc}"))
                    item, permitted = await self._next(), False
                    continue
                if session is not None and not session.busy and not await session.check():
                    self.mailer.release(session)  # idle too long and the server hung up
                    session = None
                try:
                    if session is None or not session.healthy:
                        if session is not None:
                            self.mailer.release(session)
                            session = None
                        session = await self.mailer.acquire()
                except RelayUnavailable as exc:
                    if self.report.relay_down is None:  # one line, not one per connection
                        self.report.relay_down = exc.reply
                        log.error(
                            "relay unavailable, stopping this run: %s", exc.reply, extra=STOP_REASON
                        )
                    self.stop()
                    with contextlib.suppress(_Abandoned):  # else released by _finish
                        await self._db_retry(
                            self.ledger.postpone, item, exc.reply, abandon_on_stop=True
                        )
                        self._inflight.pop(item.id, None)
                    item, permitted = await self._next(), False
                    continue
                finally:
                    if slot is not None and session is None:
                        slot.release()
                nxt = self._prefetch() if session.pipelining else None
                then = (self.config.sender, nxt.recipient) if nxt is not None else None
                self._on_wire.add(item.id)
                try:
                    outcome = await session.send(self.config.sender, item.recipient, data, then)
                finally:
                    if slot is not None:
                        slot.release()
                await self._record(item, outcome)
                if nxt is not None:
                    item, permitted = nxt, True
                else:
                    item, permitted = await self._next(), False
        except Exception:
            # A bug: stop cleanly (the rows are released), then raise.
            log.exception("delivery worker failed; stopping")
            self.stop()
            raise
        finally:
            if session is not None:
                self.mailer.release(session)

    def _give_up(self, reason: str) -> None:
        if self.report.error is None:
            self.report.error = reason
            log.error("delivery stopped: %s; untried rows are released", reason, extra=STOP_REASON)
        self.stop()

    async def _next(self) -> enqueue.Claimed | None:
        """The next item, or None once stopping (untaken items are released, not sent)."""
        while not self._stopping.is_set():
            item = await self._queue.get()
            if self._queue.qsize() < self._low_water():
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
        if self._domains.limited(nxt.domain) or not self._bucket.try_take():
            return None
        item = self._queue.get_nowait()
        assert item is not None
        if self._queue.qsize() < self._low_water():
            self._hungry.set()
        self._inflight[item.id] = item
        return item

    async def _permit(self, item: enqueue.Claimed) -> asyncio.Semaphore | None:
        """Wait for the item's domain connection slot and rate tokens; returns the slot."""
        domain = item.domain
        slot = self._domains.slots(domain)
        if slot is not None:
            await slot.acquire()
        bucket = self._domains.bucket(domain)
        if bucket is not None:
            await bucket.take()
        await self._bucket.take()
        return slot

    # --- recording outcomes ---

    async def _record(self, item: enqueue.Claimed, outcome: Outcome) -> None:
        self._recorded += 1
        outcome = self._same_bounces(item, outcome)
        self._inflight.pop(item.id, None)
        self._on_wire.discard(item.id)
        if isinstance(outcome, Sent):
            self._sent.append(item.id)
            self.report.sent += 1
        else:
            self._others.append((item, outcome))
            if isinstance(outcome, RetryAt) and not outcome.sender:
                # A refused return path is said once, by the pause line, not per message.
                self._deferrals.note(outcome.reply)
        if self.on_message is not None:
            name = "sent" if isinstance(outcome, Sent) else type(outcome).__name__.lower()
            self.on_message("deferred" if name == "retryat" else name, item.kind, item.recipient)
        if isinstance(outcome, RetryAt) and outcome.sender and self.report.same_bounces is None:
            self._sender_refused(outcome.reply)
        policy = isinstance(outcome, RetryAt) and outcome.policy
        self._policy.append(policy)
        if policy and sum(self._policy) >= self.config.breaker_threshold and not self.report.paused:
            self.report.paused = outcome.reply
            log.critical(
                "CIRCUIT BREAKER: %d policy/reputation refusals in the last %d replies, "
                "pausing delivery; nobody was suppressed. Last reply: %s",
                sum(self._policy), len(self._policy), outcome.reply, extra=STOP_REASON,
            )  # fmt: skip
            self.stop()
        if len(self._sent) + len(self._others) >= self.config.mark_batch:
            # Commit in the background so this connection keeps sending; wait only if the
            # previous batch is still committing (so at most two batches are unrecorded).
            if self._committing is not None:
                await self._committing
            self._committing = asyncio.ensure_future(self._flush())
        if self.on_progress is not None:
            self.on_progress(self.report)

    def _same_bounces(self, item: enqueue.Claimed, outcome: Outcome) -> Outcome:
        """Watch for one hard-bounce text repeated for many recipients; past the limit, pause
        and take back the suppressions not yet written down (and any that follow).

        Real bounces quote the mailbox or a queue id, so their texts differ; a relay refusing
        our return path with a wording ``classify`` does not know says the same thing to
        everyone. Sent mail ends a run of bounces; deferrals do not.
        """
        if isinstance(outcome, Sent):
            self._bounces.clear()
            return outcome
        if not (isinstance(outcome, Failed) and outcome.hard_bounce):
            return outcome
        if self.report.same_bounces is not None:
            return RetryAt(outcome.reply, sender=True)  # no attempt used, nobody suppressed
        if outcome.reply != self._bounce_text:
            self._bounce_text, self._bounces = outcome.reply, {}
        self._bounces[item.recipient.lower()] = item.id
        if len(self._bounces) <= self.config.same_bounce_limit:
            return outcome
        self.report.same_bounces = self.report.paused = outcome.reply
        ids = set(self._bounces.values())
        self._others = [
            (i, RetryAt(o.reply, sender=True) if i.id in ids and isinstance(o, Failed) else o)
            for i, o in self._others
        ]
        log.error(
            "%d hard bounces in a row with the same reply, for different recipients: this "
            "looks like a refusal of the return path <%s>, not of the recipients; pausing "
            "delivery, nobody more is suppressed (check `publisher suppressions` for the "
            "addresses bounced before this). Reply: %s",
            len(self._bounces), self.config.sender, outcome.reply, extra=STOP_REASON,
        )  # fmt: skip
        self.stop()
        return RetryAt(outcome.reply, sender=True)

    def _sender_refused(self, reply: str) -> None:
        """One refusal of the return path stands for every message: pause, blame nobody."""
        if self.report.sender_refused is None:
            self.report.sender_refused = self.report.paused = reply
            log.error(
                "the relay refuses the return path <%s> (delivery_return_path or from_address): "
                "%s; pausing delivery, nobody was failed or suppressed, rows stay queued",
                self.config.sender, reply, extra=STOP_REASON,
            )  # fmt: skip
        self.stop()

    async def _flush(self, deadline: float | None = None) -> None:
        """Commit the outcomes held. While the database is down this waits (the workers then
        wait too, so at most two batches are unrecorded); once stopping, the final flush
        (with a ``deadline``) takes over."""
        async with self._flush_lock:
            sent, others = self._sent, self._others
            self._sent, self._others = [], []
            if not (sent or others):
                return
            try:
                await self._db_retry(
                    self.ledger.apply, sent, others, deadline=deadline,
                    abandon_on_stop=deadline is None,
                )  # fmt: skip
            except BaseException as exc:
                # Not written down: keep them for the next flush (or the lease).
                self._sent, self._others = sent + self._sent, others + self._others
                if isinstance(exc, _Abandoned) and deadline is None:
                    return
                raise

    # --- the database thread ---

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, fn, *args)

    async def _db_retry(
        self,
        fn: Callable[..., T],
        *args: Any,
        deadline: float | None = None,
        abandon_on_stop: bool = False,
    ) -> T:
        """``fn`` on the database thread, retried with backoff while the database is down.

        Gives up (``_Abandoned``) when ``deadline`` (loop time) passes, or, with
        ``abandon_on_stop``, once the drain is stopping; otherwise waits as long as it takes.
        """
        loop = asyncio.get_running_loop()
        delay = _DB_RETRY_FIRST
        while True:
            try:
                return await self._db(fn, *args)
            except StoreUnavailable as exc:
                self._db_trouble(exc)
                if deadline is not None and loop.time() + delay > deadline:
                    raise _Abandoned(_first_line(exc)) from None
                if abandon_on_stop and self._stopping.is_set():
                    raise _Abandoned(_first_line(exc)) from None
                if abandon_on_stop:
                    await self._wait_stop(delay)
                else:
                    await asyncio.sleep(delay)
                delay = min(delay * 2, _DB_RETRY_MAX)

    def _db_trouble(self, exc: BaseException) -> None:
        """Count and log (at most every 10 s) a database error the drain will retry."""
        self.report.db_errors += 1
        now = asyncio.get_running_loop().time()
        if now - self._db_warned >= 10 or self.report.db_errors == 1:
            self._db_warned = now
            log.error("database unavailable, delivery waits and retries: %s", _first_line(exc))


def _first_line(exc: BaseException) -> str:
    """The error without SQLAlchemy's "[SQL: …] [parameters: …]" lines (addresses, tokens)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def build_drain(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    transform: Callable[[bytes], bytes] | None = None,
    on_progress: Callable[[Report], None] | None = None,
    on_message: Callable[[str, str, str], None] | None = None,
) -> Drain:
    """The drain as configured: mailer from smtp_url, limits and schedule from settings."""
    mailer = Mailer(
        settings.smtp_url,
        pool_size=settings.smtp_pool_size,
        connect_timeout=settings.smtp_connect_timeout,
        command_timeout=settings.smtp_command_timeout,
        data_timeout=settings.smtp_data_timeout,
    )
    config = DeliverConfig(
        sender=settings.delivery_return_path or settings.from_address,
        pool_size=settings.smtp_pool_size,
        rate=settings.delivery_rate,
        domain_limits={
            d: Limit(rate=lim.rate, connections=lim.connections)
            for d, lim in settings.delivery_domain_limits.items()
        },
        lease=settings.duration("lease_duration"),
        mark_batch=settings.mark_batch_size,
        backoff_min=settings.duration("backoff_min"),
        backoff_max=settings.duration("backoff_max"),
        breaker_threshold=settings.circuit_breaker_threshold,
        grace=settings.duration("shutdown_grace"),
    )
    return Drain(
        engine, mailer, clock, config=config, transform=transform, on_progress=on_progress,
        on_message=on_message,
    )  # fmt: skip
