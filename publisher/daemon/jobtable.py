"""What `publisher run` runs: the named jobs, the web app and the drain, built from an App.

Every job logs its outcome and duration and reports to the metrics. Blocking work (database,
rendering) runs in a worker thread so the event loop keeps serving HTTP and SMTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publisher.app import App
from publisher.core.httpclient import HttpClient
from publisher.core.metrics import Metrics
from publisher.core.schedules import Digest, Schedules, Timing
from publisher.daemon.scheduler import JobSpec, interval_trigger, trigger_for
from publisher.daemon.sidejobs import SideJobs
from publisher.daemon.supervise import PartState
from publisher.delivery.configured import build_drain
from publisher.delivery.drain import Drain
from publisher.delivery.drainstore import Report
from publisher.delivery.mailer import RelayUnavailable
from publisher.digests.pipeline import run_digest
from publisher.digests.selection import latest_due
from publisher.feeds.build import FeedBuilder
from publisher.feeds.publish import published_articles, run_feeds
from publisher.intake.polling import run_collect
from publisher.messages import outboxstatus
from publisher.store import cleanup, stats
from publisher.store import webhooks as store_webhooks
from publisher.syndication.run import EVERY as SYNDICATION_EVERY
from publisher.syndication.run import configured as syndication_configured

if TYPE_CHECKING:
    from publisher.daemon.process import Daemon, Role

log = logging.getLogger(__name__)
DIGEST_GRACE = timedelta(hours=6)
PENDING_TTL = timedelta(days=7)
OUTBOX_TTL = timedelta(days=30)
VIEWS_HOURLY_TTL = timedelta(days=90)
EVERY_MINUTE = Timing(every="60s")  # the editorial jobs: approval deadlines, breaking news


class JobTable(SideJobs):
    """Holds what outlives one job run: the feed builder's state, metrics, the drain's wake-up."""

    def __init__(self, app: App, *, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics or Metrics(snapshot=self.outbox_snapshot)
        self.feed_builder = FeedBuilder(app.settings, app.engine)
        self.feed_articles_counted = False
        self.deliver_tick = asyncio.Event()
        self.http = HttpClient(timeout=app.settings.source_timeout)
        self.after_collect: Callable[[], None] | None = None  # chains collect → feeds
        # What /healthz and the drain gauge read; compose() shares the daemon's.
        self.drain_state = PartState("drain")
        self._restarts_counted = 0
        self._relay_down = False  # the last run stopped because no session could be made

    # -- metrics ---------------------------------------------------------------
    def outbox_snapshot(self) -> tuple[dict[str, int], Any, Any]:
        now = self.app.clock.now()
        with self.app.engine.connect() as conn:
            return stats.outbox_depth(conn), stats.oldest_queued(conn, due_by=now), now

    # -- the jobs ----------------------------------------------------------------
    async def feeds(self) -> None:
        async def work() -> str:
            started = time.perf_counter()
            run = await asyncio.to_thread(
                run_feeds, self.app.settings, self.app.engine, now=self.app.clock.now(),
                builder=self.feed_builder,
            )  # fmt: skip
            self.metrics.feed_build_seconds.set(time.perf_counter() - started)
            changed = sum(1 for r in run.results if r.changed)
            # Counting scans the articles (~20 ms for 10,000): only when the feeds changed, so
            # the no-change build stays a few milliseconds.
            if changed or not self.feed_articles_counted:
                count = await asyncio.to_thread(published_articles, self.app.engine)
                self.metrics.feed_articles.set(count)
                self.feed_articles_counted = True
            return f"{len(run.results)} files, {changed} changed"

        await self._timed("feeds", work)

    async def collect(self) -> None:
        async def work() -> str:
            if not self.app.settings.sources:
                return "no sources configured"
            report = await asyncio.to_thread(
                run_collect, self.app.settings, self.app.engine, now=self.app.clock.now(),
                client=self.http, metrics=self.metrics,
            )  # fmt: skip
            if report.changed and self.after_collect is not None:
                self.after_collect()  # new articles reach the feeds now, not a feed tick later
            failed = f", failing: {', '.join(report.failed)}" if report.failed else ""
            return ("new articles" if report.changed else "nothing new") + failed

        await self._timed("collect", work)

    def digest(self, schedules: Schedules, digest_id: str) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            async def work() -> str:
                result = await asyncio.to_thread(
                    run_digest, self.app.engine, self.app.settings, schedules, digest_id,
                    now=self.app.clock.now(),
                )  # fmt: skip
                if result.enqueued:
                    self.deliver_tick.set()
                return f"{result.status}, {result.enqueued} enqueued {result.note}".strip()

            await self._timed(f"digest:{digest_id}", work)

        return job

    async def deliver(self) -> None:
        self.deliver_tick.set()

    async def cleanup(self) -> None:
        async def work() -> str:
            now = self.app.clock.now()

            def run() -> str:
                # Batch by batch, each its own commit: the drains keep claiming meanwhile.
                rows, _ = outboxstatus.purge(self.app.engine, before=now - OUTBOX_TTL)
                with self.app.engine.begin() as conn:
                    pending = cleanup.purge_pending_subscribers(conn, before=now - PENDING_TTL)
                    folded = cleanup.rollup_views(conn, before=now - VIEWS_HOURLY_TTL)
                    hooks = store_webhooks.purge_delivered(conn, before=now - OUTBOX_TTL)
                return (
                    f"{pending} pending sign-ups, {rows} outbox rows, {folded} view hours, "
                    f"{hooks} webhook deliveries"
                )

            return await asyncio.to_thread(run)

        await self._timed("cleanup", work)

    def jobs(self, schedules: Schedules) -> list[JobSpec]:
        tz = schedules.tz
        j = schedules.jobs
        specs = [
            JobSpec("collect", self.collect, trigger_for(j.collect, tz)),
            JobSpec("feeds", self.feeds, trigger_for(j.feeds, tz)),
            JobSpec("deliver", self.deliver, trigger_for(j.deliver, tz)),
            JobSpec("cleanup", self.cleanup, trigger_for(j.cleanup, tz), timedelta(hours=6)),
            JobSpec("reconfirm", self.reconfirm, trigger_for(j.reconfirm, tz), timedelta(hours=6)),
            # Every minute, with or without a digest needing approval now: a run left
            # waiting by a schedule that changed since must still meet its deadline.
            JobSpec("approvals", self.approvals(schedules), trigger_for(EVERY_MINUTE, tz)),
            JobSpec("alerts", self.alerts, trigger_for(EVERY_MINUTE, tz)),
            JobSpec("rollup", self.rollup, interval_trigger(
                timedelta(minutes=self.app.settings.console_rollup_minutes), tz)),
            JobSpec("inbound", self.inbound, trigger_for(j.inbound, tz)),
            JobSpec("clicks", self.clicks, trigger_for(j.cleanup, tz), timedelta(hours=6)),
        ]  # fmt: skip
        if syndication_configured(self.app.settings):  # webhooks, IndexNow (issue 17)
            specs.append(
                JobSpec("syndication", self.syndication, interval_trigger(SYNDICATION_EVERY, tz))
            )
        for d in schedules.digests:
            specs.append(
                JobSpec(
                    f"digest:{d.id}", self.digest(schedules, d.id), trigger_for(d, tz), DIGEST_GRACE
                )
            )
        return specs

    # -- the drain -----------------------------------------------------------------
    def drain_changed(self, state: PartState) -> None:
        # A paused drain runs but sends nothing: for alerting it is as down as a dead one.
        self.metrics.drain_up.set(1 if state.healthy else 0)
        if state.restarts > self._restarts_counted:
            self.metrics.drain_restarts.inc(state.restarts - self._restarts_counted)
            self._restarts_counted = state.restarts

    def _drain_message(self, outcome: str, kind: str, recipient: str) -> None:
        self.metrics.message(outcome, kind, recipient)
        if outcome == "sent":  # the relay takes mail again: the pause is over
            self.drain_state.resume()

    async def drain_forever(self, stop: asyncio.Event) -> None:
        """Keep the outbox drained. A run that stops on its own (circuit breaker, relay down)
        is started again at the next `deliver` tick, not in a tight loop."""
        while not stop.is_set():
            drain = build_drain(
                self.app.settings, self.app.engine, self.app.clock,
                transform=self.app.dkim_transform(), on_message=self._drain_message,
            )  # fmt: skip
            if await self._relay_answers(drain):
                stopper = asyncio.create_task(_stop_when(stop, drain.stop))
                try:
                    report = await drain.run(until_empty=False)
                finally:
                    stopper.cancel()
                if stop.is_set():
                    break
                self._after_run(report)
            else:
                await drain.mailer.close()
            self.deliver_tick.clear()
            stop_wait = asyncio.create_task(stop.wait())
            tick_wait = asyncio.create_task(self.deliver_tick.wait())
            await asyncio.wait({stop_wait, tick_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            tick_wait.cancel()

    def _after_run(self, report: Report) -> None:
        """A run that stopped on its own pauses the drain: reported (/healthz, the gauge)
        until a message goes out again, or for a relay outage until the relay answers."""
        if report.ok:
            self.drain_state.resume()
            return
        log.error("drain paused: %s", report.reason)
        self.drain_state.pause(report.reason or "stopped on its own")
        self._relay_down = report.relay_down is not None and not (report.paused or report.error)

    async def _relay_answers(self, drain: Drain) -> bool:
        """After a relay outage, one session first: a relay that is back ends the pause at
        this tick (even with nothing due to send); one still away keeps it, without a run
        that would only postpone a message again."""
        if not self._relay_down:
            return True
        try:
            session = await drain.mailer.acquire()
        except (RelayUnavailable, OSError) as exc:
            reply = exc.reply if isinstance(exc, RelayUnavailable) else str(exc)
            self.drain_state.pause(f"relay unavailable: {reply}")
            return False
        drain.mailer.release(session)  # the run takes it from the pool
        self._relay_down = False
        self.drain_state.resume()
        return True


async def _stop_when(event: asyncio.Event, stop: Callable[[], None]) -> None:
    await event.wait()
    stop()


def catch_up_due(digest: Digest, *, tz: tzinfo, now: datetime) -> datetime | None:
    """The slot a start-up (or takeover) catch-up should run, or None.

    Only a slot still within ``stale_after``: a later one would only be recorded stale, and a
    stale record consumes the window. Left alone, its articles go out with the next slot
    instead, which fires on the schedule's own grid (the catch-up never moves it).
    """
    due = latest_due(digest, tz=tz, now=now)
    if due is None or now - due > digest.stale_span:
        return None
    return due


def compose(app: App, role: Role) -> Daemon:
    """The daemon as configured: jobs, the public web app, the operations listener, the drain."""
    # The web stack and the scheduler take a third of a second to import: only the daemon
    # pays for them, not every other command.
    from publisher.daemon.process import Daemon, Parts
    from publisher.web.app import create_app
    from publisher.web.context import WebContext
    from publisher.web.ops import health_router, ops_app

    runtime = JobTable(app)
    s = app.settings
    web_ctx = WebContext(s, clock=app.clock, engine_=app.engine)
    web_ctx.state["inbound_outcome"] = runtime.metrics.inbound_outcome  # webhooks' counters
    web = create_app(s, clock=app.clock, context=web_ctx)
    parts = Parts(
        jobs=runtime.jobs,
        web_app=web,
        drain=runtime.drain_forever,
        grace=s.shutdown_grace,
        leader_poll=timedelta(seconds=s.leader_poll_seconds),
    )
    daemon = Daemon(app, parts, role=role)
    daemon.drain_state = runtime.drain_state
    parts.ops_app = ops_app(engine=app.engine, metrics=runtime.metrics, checks=daemon.checks)
    maildir = _demo_maildir(s.smtp_url) if s.demo else None
    web.include_router(health_router(engine=app.engine, checks=daemon.checks, maildir=maildir))
    runtime.after_collect = lambda: daemon.scheduler.run_soon("feeds")
    daemon.drain_state.listeners.append(runtime.drain_changed)
    runtime.metrics.drain_up.set(1 if daemon.drains_here else 0)

    def catch_up(leading: bool) -> None:
        # On taking the lead (start-up, or another instance died): feeds now, and each digest
        # whose last slot is still fresh: its run key decides whether it still has to run.
        if not leading:
            return
        daemon.scheduler.run_soon("feeds")
        now = app.clock.now()
        for d in daemon.schedules.digests:
            if catch_up_due(d, tz=daemon.schedules.tz, now=now) is not None:
                daemon.scheduler.run_soon(f"digest:{d.id}")
            else:
                log.info(
                    "digest %s: no catch-up (its last slot is older than stale_after %s); "
                    "the next slot runs on schedule", d.id, d.stale_after,
                )  # fmt: skip

    parts.on_leader_change.append(catch_up)
    return daemon


def _demo_maildir(smtp_url: str) -> Path | None:
    return Path(smtp_url[len("maildir://") :]) if smtp_url.startswith("maildir://") else None
