"""The daemon's jobs beyond the pipeline's own (collect, feeds, digests, deliver, cleanup):
breaking news and approval deadlines (issue 15), advertising reconfirmation (18), webhooks and
IndexNow (17), the console's daily counts (15), inbound mail (14) and click retention (16).

``JobTable`` inherits them; each runs its work off the event loop and is timed and logged by
``_timed``, so a failure is an ERROR line and a failed-job metric, never a dead scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from publisher.alerts.send import send_marked
from publisher.analytics.retention import apply_retention
from publisher.app import App
from publisher.consent.reconfirm import run as run_reconfirm
from publisher.core.httpclient import HttpClient
from publisher.core.metrics import Metrics
from publisher.core.schedules import Schedules
from publisher.digests.approval import settle_deadlines
from publisher.inbound.sources import InboundSourcesFailed
from publisher.inbound.sources import poll as poll_inbound
from publisher.staff import accounts as console_accounts
from publisher.staff import dashboard as console_dashboard
from publisher.syndication.run import run_syndication

log = logging.getLogger("publisher.daemon.jobtable")


class SideJobs:
    """Needs what JobTable holds: the app, its metrics, the outgoing HTTP client and the
    drain's wake-up."""

    app: App
    metrics: Metrics
    http: HttpClient
    deliver_tick: asyncio.Event

    async def _timed(self, job: str, work: Callable[[], Awaitable[str]]) -> None:
        started = time.perf_counter()
        ok = True
        try:
            outcome = await work()
        except Exception:
            ok = False
            outcome = "error"
            log.exception("job %s failed", job)
        seconds = time.perf_counter() - started
        self.metrics.job_ran(job, at=self.app.clock.now(), seconds=seconds, ok=ok)
        log.info("job %s: %s (%.2f s)", job, outcome, seconds, extra={"job": job})

    async def alerts(self) -> None:
        """Articles an intake marked breaking: their alert goes out (issue 15)."""

        async def work() -> str:
            sent = await asyncio.to_thread(
                send_marked, self.app.engine, self.app.settings, now=self.app.clock.now()
            )
            if any(a.enqueued for a in sent):
                self.deliver_tick.set()
            return ", ".join(f"alert {a.alert_id} ({a.article_id})" for a in sent) or "none"

        await self._timed("alerts", work)

    def approvals(self, schedules: Schedules) -> Callable[[], Awaitable[None]]:
        """Runs awaiting approval whose deadline has come: skipped or sent (issue 15)."""

        async def job() -> None:
            async def work() -> str:
                done = await asyncio.to_thread(
                    settle_deadlines, self.app.engine, self.app.settings, schedules,
                    now=self.app.clock.now(),
                )  # fmt: skip
                if any(d.enqueued for d in done):
                    self.deliver_tick.set()
                return ", ".join(f"run {d.run_id} {d.status}" for d in done) or "none due"

            await self._timed("approvals", work)

        return job

    async def reconfirm(self) -> None:
        """Advertising consent older than reconfirm_after: ask; unanswered: stop (issue 18)."""

        async def work() -> str:
            done = await asyncio.to_thread(
                run_reconfirm, self.app.engine, self.app.settings, now=self.app.clock.now()
            )
            if done.asked:
                self.deliver_tick.set()
            return f"{done.asked} asked to reconfirm, {done.lapsed} lapsed"

        await self._timed("reconfirm", work)

    async def syndication(self) -> None:
        async def work() -> str:
            return await asyncio.to_thread(
                run_syndication, self.app.settings, self.app.engine, self.http,
                now=self.app.clock.now(),
            )  # fmt: skip

        await self._timed("syndication", work)

    async def rollup(self) -> None:
        """The console's daily counts (a few index ranges), and idle console sessions ended."""

        async def work() -> str:
            now, s = self.app.clock.now(), self.app.settings

            def run() -> str:
                n = console_dashboard.rollup(self.app.engine, now=now, tz=s.tz)
                idle = timedelta(minutes=s.console_idle_minutes)
                ended = console_accounts.prune(self.app.engine, now=now, idle=idle)
                return f"{n} daily counts, {ended} idle console sessions ended"

            return await asyncio.to_thread(run)

        await self._timed("rollup", work)

    async def inbound(self) -> None:
        async def work() -> str:
            if not self.app.settings.inbound_sources:
                return "no inbound sources configured"
            report = await asyncio.to_thread(
                poll_inbound, self.app.settings, self.app.engine, now=self.app.clock.now(),
                on_outcome=self.metrics.inbound_outcome,
            )  # fmt: skip
            if report.failed:  # the others were read; the job still counts as failed
                raise InboundSourcesFailed(report.summary())
            return report.summary()

        await self._timed("inbound", work)

    async def clicks(self) -> None:
        """click_retention: per-reader clicks deleted, hourly click counts folded (issue 16)."""

        async def work() -> str:
            now, keep = self.app.clock.now(), self.app.settings.click_retention
            return await asyncio.to_thread(
                apply_retention, self.app.engine, now=now, retention=keep
            )

        await self._timed("clicks", work)
