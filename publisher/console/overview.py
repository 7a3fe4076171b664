"""The dashboard: per-day charts from the pre-aggregated daily counts, the outbox's waiting
rows, the next scheduled runs, and the health of the drain and of each source."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from publisher.console import charts
from publisher.console.kit import BASE, Operator, language, render, require, run
from publisher.console.strings import CONSOLE_STRINGS
from publisher.daemon.scheduler import next_fire_times, trigger_for
from publisher.daemon.status import DaemonRow, daemon_health, describe
from publisher.digests import approval
from publisher.staff import dashboard
from publisher.staff.dashboard import Dashboard
from publisher.web.context import WebContext, context_of

HEALTH_CACHE_SECONDS = 30.0
# The drain is "behind" when the oldest waiting message is older than this.
BEHIND = timedelta(minutes=30)

log = logging.getLogger("publisher.console")


@dataclass(frozen=True, slots=True)
class NextRun:
    name: str
    timing: str
    at: datetime | None


def next_runs(ctx: WebContext, now: datetime) -> list[NextRun]:
    sched = ctx.schedules
    if sched is None:
        return []
    found = []
    timings = [(f"digest:{d.id}", d) for d in sched.digests]
    timings += [(n, getattr(sched.jobs, n)) for n in ("collect", "feeds", "cleanup")]
    for name, timing in timings:
        times = next_fire_times(trigger_for(timing, sched.tz), now, 1)
        found.append(NextRun(name, describe(timing), times[0] if times else None))
    return sorted(found, key=lambda r: (r.at is None, r.at or now))


async def _daemon(ctx: WebContext) -> DaemonRow:
    """The daemon's own health answer, asked at most every 30 s (it is an HTTP call)."""
    cached = ctx.state.get("console-daemon")
    if cached and time.monotonic() - cached[0] < HEALTH_CACHE_SECONDS:
        row: DaemonRow = cached[1]
        return row
    row = await run(daemon_health, ctx.settings, timeout=1.0)
    ctx.state["console-daemon"] = (time.monotonic(), row)
    return row


def _keep_counts_fresh(ctx: WebContext, board: Dashboard) -> None:
    """Without a daemon (or before its first rollup), fold the new rows in, in the background:
    the page never waits for it."""
    every = timedelta(minutes=ctx.settings.console_rollup_minutes)
    stale = board.rolled_up_at is None or ctx.now() - board.rolled_up_at > every
    task = ctx.state.get("console-rollup")
    if stale and (task is None or task.done()):
        task = asyncio.get_running_loop().create_task(
            ctx.write(dashboard.rollup, ctx.engine, now=ctx.now(), tz=ctx.settings.tz)
        )
        task.add_done_callback(_said_if_failed)  # nobody awaits it: a failure must be heard
        ctx.state["console-rollup"] = task


def _said_if_failed(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("console: folding the daily counts failed: %s", exc, exc_info=exc)


def chart_set(board: Dashboard, lang: str) -> list[str]:
    t = CONSOLE_STRINGS[lang]
    days = [d.day for d in board.days]
    people = charts.bars(t["subscribers_per_day"], days, [
        (t["confirmed"], [d.confirmed for d in board.days]),
        (t["unsubscribed"], [d.unsubscribed for d in board.days]),
        (t["bounced"], [d.bounced for d in board.days]),
    ], stacked=False)  # fmt: skip
    keys = sorted({k for d in board.days for k in d.messages})
    mail = charts.bars(
        t["messages_per_day"], days, [(k, [d.messages.get(k, 0) for d in board.days]) for k in keys]
    )
    rates = charts.rates(t["rates"], days, [
        (t["bounce_rate"], [d.rate(d.bounced) if d.sent else None for d in board.days]),
        (t["complaint_rate"], [d.rate(d.complaints) if d.sent else None for d in board.days]),
    ], line=dashboard.RATE_LINE, line_name=t["line"])  # fmt: skip
    return [people, mail, rates]


async def home(request: Request, op: Operator = Depends(require("viewer"))) -> Response:
    ctx = context_of(request)
    now = ctx.now()
    board = await run(dashboard.gather, ctx.engine, now=now, tz=ctx.settings.tz)
    _keep_counts_fresh(ctx, board)
    lang = language(request)
    behind = board.oldest_waiting is not None and now - board.oldest_waiting > BEHIND
    return render(
        request, op, "dashboard", board=board, charts=await run(cached_charts, ctx, board, lang),
        runs=next_runs(ctx, now), daemon=await _daemon(ctx), behind=behind,
        age=_age(now, board.oldest_waiting),
        pending=await run(approval.pending, ctx.engine, limit=20),
    )  # fmt: skip


def cached_charts(ctx: WebContext, board: Dashboard, lang: str) -> list[str]:
    """The charts change only when a rollup does: drawn once per rollup, day and language
    (pygal takes ~60 ms a chart; the page itself a few)."""
    key = (board.rolled_up_at, board.days[-1].day if board.days else "")
    per_language: dict[str, tuple[object, list[str]]] = ctx.state.setdefault("console-charts", {})
    found = per_language.get(lang)
    if found is None or found[0] != key:
        found = per_language[lang] = (key, chart_set(board, lang))
    charts_ = found[1]
    return charts_


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    r.add_api_route(BASE + "/", home, methods=["GET"])
    return r


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "-"
    minutes = int((now - then).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
