"""The drain's side of the outbox: claim rows, then write down what happened to them.

Runs on the drain's one database thread (blocking SQLAlchemy calls). Outcomes decided at the
edge (mailer: Sent / RetryAt / Failed) become statuses here: sent, deferred with backoff
(or expired past expires_at), failed (hard bounces also suppressed).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from publisher import outbox
from publisher.clock import Clock
from publisher.mailer import Failed, Outcome, RetryAt
from publisher.ratelimit import Limit
from publisher.store import outbox as store_outbox
from publisher.store.types import Engine


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
    grace: timedelta = timedelta(seconds=30)

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
    skipped: int = 0  # suppressed or expired at claim time
    released: int = 0
    paused: str | None = None  # circuit breaker: the policy reply that tripped it
    relay_down: str | None = None  # no connection could be made

    @property
    def ok(self) -> bool:
        return self.paused is None and self.relay_down is None


@dataclass
class Ledger:
    engine: Engine
    clock: Clock
    config: DeliverConfig
    owner: str
    report: Report
    rng: random.Random

    def claim(self, limit: int, known: set[int]) -> tuple[list[outbox.Claimed], dict[int, bytes]]:
        """Lease due rows; also the bodies of contents not in ``known``."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            items, skipped = outbox.claim(
                conn, owner=self.owner, now=now, lease=self.config.lease, limit=limit
            )
            bodies = {
                cid: store_outbox.get_content(conn, cid)
                for cid in {i.content_id for i in items} - known
            }
        self.report.skipped += skipped
        return items, bodies

    def content(self, content_id: int) -> bytes:
        with self.engine.connect() as conn:
            return store_outbox.get_content(conn, content_id)

    def apply(self, sent: list[int], others: list[tuple[outbox.Claimed, Outcome]]) -> None:
        """Commit one batch of outcomes."""
        now = self.clock.now()
        cfg = self.config
        with self.engine.begin() as conn:
            if sent:
                outbox.mark_sent(conn, sent, now=now, owner=self.owner)
            for item, outcome in others:
                if isinstance(outcome, Failed):
                    outbox.mark_failed(
                        conn, item, reply=outcome.reply, now=now, hard_bounce=outcome.hard_bounce
                    )
                    self.report.failed += 1
                    continue
                assert isinstance(outcome, RetryAt)
                delay = outbox.backoff(
                    item.attempts, minimum=cfg.backoff_min, maximum=cfg.backoff_max, rng=self.rng
                )
                status = outbox.mark_retry(conn, item, reply=outcome.reply, now=now, at=now + delay)
                if status == "expired":
                    self.report.expired += 1
                else:
                    self.report.deferred += 1

    def postpone(self, item: outbox.Claimed, reply: str) -> None:
        """The relay was unreachable: back off without using up an attempt."""
        now = self.clock.now()
        cfg = self.config
        delay = outbox.backoff(1, minimum=cfg.backoff_min, maximum=cfg.backoff_max, rng=self.rng)
        with self.engine.begin() as conn:
            outbox.postpone(conn, item, reply=reply, now=now, at=now + delay)

    def release(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            outbox.release(conn, ids, now=self.clock.now())
        self.report.released += len(ids)
