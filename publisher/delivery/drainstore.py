"""The drain's side of the outbox: claim rows, then write down what happened to them.

Runs on the drain's one database thread (blocking SQLAlchemy calls). Outcomes decided at the
edge (mailer: Sent / RetryAt / Failed) become statuses here: sent, deferred with backoff
(or expired past expires_at), failed (hard bounces also suppressed).

The drain store also knows which rows the drain holds (``held``: claimed and not yet written
down), renews their leases while they wait, and frees the leases of dead drains on this host.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from publisher.core import verp
from publisher.core.clock import Clock
from publisher.core.vocab import DbPriority
from publisher.delivery.leaseholder import Holder, is_alive
from publisher.delivery.ratelimit import Limit
from publisher.delivery.smtpwire import Failed, Outcome, RetryAt
from publisher.messages import enqueue
from publisher.store import outbox as store_outbox
from publisher.store.types import Connection, Engine

log = logging.getLogger("publisher.delivery.drain")

# A lost connection, a full disk, a read-only file: the drain retries these (drain.py).
StoreUnavailable = store_outbox.TRANSIENT_ERRORS

# Drains running in this process (their owner ids). A row leased by this process under an
# owner not listed belongs to a drain that ended or crashed here: it is freed like a dead
# process's (a daemon restarting its drain must not wait out the old drain's leases).
LIVE_OWNERS: set[str] = set()

UNANSWERED = "451 4.4.2 no final reply before shutdown_grace ran out; the relay may have it"


@dataclass(frozen=True, slots=True)
class DeliverConfig:
    sender: str
    pool_size: int = 8
    rate: float = 0.0
    domain_limits: Mapping[str, Limit] = field(default_factory=dict)
    lease: timedelta = timedelta(minutes=15)
    mark_batch: int = 50
    backoff_min: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=4)
    breaker_threshold: int = 5
    # Hard bounces in a row with the very same reply text, each for a different recipient,
    # that pause the run: real bounces name their mailbox (or differ otherwise); one text
    # repeated for everyone is a refusal of us that the relay words as a bounce.
    same_bounce_limit: int = 10
    grace: timedelta = timedelta(seconds=30)
    # VERP: with a secret, each message's envelope sender is sender's LOCAL+TOKEN@DOMAIN,
    # the token a short signed outbox row id (core/verp.py); empty: ``sender`` as it is.
    verp_secret: str = ""
    # The database thread's CPU priority (delivery/dbpriority.py), as db_thread_priority.
    db_priority: DbPriority = "normal"

    def envelope_sender(self, outbox_id: int) -> str:
        """MAIL FROM of one row: a few microseconds (one HMAC), computed as it is sent."""
        if not self.verp_secret:
            return self.sender
        return verp.address(self.sender, self.verp_secret, outbox_id)

    @property
    def duplicate_bound(self) -> int:
        """Messages a crash may send twice: one batch committing, one filling, in flight."""
        return 2 * self.mark_batch + self.pool_size


@dataclass
class Report:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    skipped: int = 0  # suppressed or expired at claim time, or suppressed just before sending
    released: int = 0
    paused: str | None = None  # circuit breaker: the policy (or return path) reply that tripped it
    sender_refused: str | None = None  # the relay refused our return path (MAIL FROM)
    same_bounces: str | None = None  # one hard-bounce text repeated for many recipients
    relay_down: str | None = None  # no connection could be made
    error: str | None = None  # the drain cannot work (e.g. DKIM signing fails): rows released
    db_errors: int = 0  # database calls retried (lost connection, full disk)
    freed: int = 0  # rows of dead drains on this host made claimable at start

    @property
    def ok(self) -> bool:
        return self.paused is None and self.relay_down is None and self.error is None

    @property
    def reason(self) -> str | None:
        """Why the run stopped on its own, in one line (None when it did not)."""
        if self.sender_refused:
            return f"the relay refuses the return path (MAIL FROM): {self.sender_refused}"
        if self.same_bounces:
            return f"the same hard bounce for many recipients: {self.same_bounces}"
        if self.paused:
            return f"circuit breaker (policy refusals): {self.paused}"
        if self.relay_down:
            return f"relay unavailable: {self.relay_down}"
        return self.error


@dataclass
class DrainStore:
    engine: Engine
    clock: Clock
    config: DeliverConfig
    owner: str
    report: Report
    rng: random.Random
    holder: Holder
    held: set[int] = field(default_factory=set)  # leased to us and not yet written down

    def claim(self, limit: int, known: set[int]) -> tuple[list[enqueue.Claimed], dict[int, bytes]]:
        """Lease due rows; also the bodies of contents not in ``known``."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            items, skipped = enqueue.claim(
                conn, owner=self.owner, now=now, lease=self.config.lease, limit=limit,
                host=self.holder.host, process=self.holder.process,
            )  # fmt: skip
            bodies = {
                cid: store_outbox.get_content(conn, cid)
                for cid in {i.content_id for i in items} - known
            }
        self.held.update(i.id for i in items)
        self.report.skipped += skipped
        return items, bodies

    def recheck(self, items: list[enqueue.Claimed]) -> list[enqueue.Claimed]:
        """The items still allowed to go: the suppression list is read again (one query)."""
        if not items:
            return []
        with self.engine.begin() as conn:
            kept = enqueue.recheck(conn, items, now=self.clock.now(), owner=self.owner)
        if len(kept) < len(items):
            gone = {i.id for i in items} - {i.id for i in kept}
            self.held -= gone
            self.report.skipped += len(gone)
        return kept

    def renew(self) -> set[int]:
        """Extend the leases of held rows; returns the ids no longer ours (not to be sent)."""
        if not self.held:
            return set()
        now = self.clock.now()
        with self.engine.begin() as conn:
            renewed = store_outbox.renew(
                conn, sorted(self.held), owner=self.owner, lease_until=now + self.config.lease,
                now=now,
            )  # fmt: skip
        # Rows written down meanwhile on this thread are gone from `held` already.
        lost = self.held - renewed
        self.held -= lost
        return lost

    def free_dead(self) -> int:
        """Make the rows of dead drains on this host claimable now; returns how many."""
        with self.engine.begin() as conn:
            holders = store_outbox.lease_holders(conn, host=self.holder.host)
            mine = self.holder.process
            dead = sorted({
                owner for owner, process in holders
                if owner not in LIVE_OWNERS and owner != self.owner
                and (process == mine or not is_alive(process))
            })  # fmt: skip
            if not dead:
                return 0
            # Just past, so that this drain's next claim (same clock) takes them.
            freed = store_outbox.expire_leases(
                conn, dead, now=self.clock.now() - timedelta(seconds=1)
            )
        if freed:
            log.warning(
                "freed %d row(s) leased by %d drain(s) on this host that no longer run",
                freed, len(dead),
            )  # fmt: skip
        self.report.freed += freed
        return freed

    def content(self, content_id: int) -> bytes:
        with self.engine.connect() as conn:
            return store_outbox.get_content(conn, content_id)

    def apply(self, sent: list[int], others: list[tuple[enqueue.Claimed, Outcome]]) -> None:
        """Commit one batch of outcomes."""
        now = self.clock.now()
        cfg = self.config
        counts = {"failed": 0, "expired": 0, "deferred": 0}
        with self.engine.begin() as conn:
            if sent:
                enqueue.mark_sent(conn, sent, now=now, owner=self.owner)
            for item, outcome in others:
                if isinstance(outcome, Failed):
                    enqueue.mark_failed(
                        conn, item, reply=outcome.reply, now=now, hard_bounce=outcome.hard_bounce
                    )
                    counts["failed"] += 1
                    continue
                assert isinstance(outcome, RetryAt)
                if outcome.sender:
                    # Our return path was refused: not this row's fault, so no attempt is used.
                    self._postpone(conn, item, outcome.reply)
                    counts["deferred"] += 1
                    continue
                delay = enqueue.backoff(
                    item.attempts, minimum=cfg.backoff_min, maximum=cfg.backoff_max, rng=self.rng
                )
                status = enqueue.mark_retry(
                    conn, item, reply=outcome.reply, now=now, at=now + delay
                )
                counts[status] += 1
        # Counted after the commit: a retried batch is not counted twice.
        self.report.failed += counts["failed"]
        self.report.expired += counts["expired"]
        self.report.deferred += counts["deferred"]
        self.held.difference_update(sent)
        self.held.difference_update(item.id for item, _ in others)

    def postpone(self, item: enqueue.Claimed, reply: str) -> None:
        """The relay was unreachable: back off without using up an attempt."""
        with self.engine.begin() as conn:
            self._postpone(conn, item, reply)
        self.held.discard(item.id)

    def _postpone(self, conn: Connection, item: enqueue.Claimed, reply: str) -> None:
        now = self.clock.now()
        cfg = self.config
        delay = enqueue.backoff(1, minimum=cfg.backoff_min, maximum=cfg.backoff_max, rng=self.rng)
        enqueue.postpone(conn, item, reply=reply, now=now, at=now + delay)

    def unanswered(self, items: list[enqueue.Claimed]) -> None:
        """Messages written whose final reply never came before the stop: deferred (the relay
        may have them, so sending again at once would likely duplicate)."""
        self.apply([], [(item, RetryAt(UNANSWERED)) for item in items])

    def release(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            enqueue.release(conn, ids, now=self.clock.now(), owner=self.owner)
        self.held.difference_update(ids)
        self.report.released += len(ids)
