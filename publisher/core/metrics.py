"""Prometheus metrics: the only home of prometheus_client.

Counters are per process (each instance exposes its own); outbox depth and age are read from
the database at scrape time, so every instance reports the same shared queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from publisher.core.vocab import OutboxStatus

Snapshot = Callable[[], tuple[dict[str, int], datetime | None, datetime]]


# Exposition order (waiting first, then finished); the words are checked against OutboxStatus.
_ORDER: tuple[OutboxStatus, ...] = (
    "queued", "sending", "deferred", "sent", "failed", "suppressed", "expired",
)  # fmt: skip


class _OutboxCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth, oldest, now = self._snapshot()
        fam = GaugeMetricFamily(
            "publisher_outbox_messages", "Outbox rows by status", labels=["status"]
        )
        for status in _ORDER:
            fam.add_metric([status], depth.get(status, 0))
        yield fam
        age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
        yield GaugeMetricFamily(
            "publisher_outbox_oldest_queued_age_seconds",
            "How long the longest-waiting due message (queued or deferred) has been due",
            value=age,
        )


class Metrics:
    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # process_open_fds against process_max_fds, memory, CPU: on uvloop a connection
        # accepted with no descriptor left is closed by libuv with no log line of ours
        # (core/eventloop.py), so the descriptors are watched here.
        ProcessCollector(registry=r)
        self.messages = Counter(
            "publisher_messages", "Messages by outcome, kind and recipient domain",
            ["outcome", "kind", "domain"], registry=r,
        )  # fmt: skip
        self.job_last_run = Gauge(
            "publisher_job_last_run_timestamp_seconds", "When a job last ran", ["job"], registry=r
        )
        self.job_duration = Gauge(
            "publisher_job_last_duration_seconds", "How long a job's last run took", ["job"],
            registry=r,
        )  # fmt: skip
        self.job_ok = Gauge(
            "publisher_job_last_success", "1 if the job's last run succeeded", ["job"], registry=r
        )
        self.feed_build_seconds = Gauge(
            "publisher_feed_build_duration_seconds", "Duration of the last feed build", registry=r
        )
        self.feed_articles = Gauge(
            "publisher_feed_articles", "Published articles in the store", registry=r
        )
        self.source_errors = Counter(
            "publisher_source_errors", "Failed polls of a source", ["source"], registry=r
        )
        self.drain_up = Gauge(
            "publisher_drain_up",
            "1 while this instance's outbox drain runs, 0 while it is down and being restarted",
            registry=r,
        )
        self.drain_restarts = Counter(
            "publisher_drain_restarts", "Times the drain ended unexpectedly and was restarted",
            registry=r,
        )  # fmt: skip
        self.inbound = Counter(
            "publisher_inbound_messages",
            "Inbound messages and webhook events by source kind and outcome",
            ["source", "outcome"], registry=r,
        )  # fmt: skip
        if snapshot is not None:
            r.register(_OutboxCollector(snapshot))

    def job_ran(self, job: str, *, at: datetime, seconds: float, ok: bool) -> None:
        self.job_last_run.labels(job).set(at.timestamp())
        self.job_duration.labels(job).set(seconds)
        self.job_ok.labels(job).set(1 if ok else 0)

    def message(self, outcome: str, kind: str, recipient: str) -> None:
        domain = recipient.rpartition("@")[2].lower() or "unknown"
        self.messages.labels(outcome, kind, domain).inc()

    def inbound_outcome(self, source: str, outcome: str) -> None:
        self.inbound.labels(source, outcome).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
