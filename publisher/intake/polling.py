"""The collect job: poll every due source, register what is new, remember each source's state.

A failed poll keeps the source's ETag, Last-Modified and cursor; only its failure count, error
and next attempt change (exponential backoff: base × 2^(failures-1), at most the max). One
source failing never stops the others. ``CollectReport.changed`` tells the caller to chain
the feeds job right away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from publisher.core.config import Settings, SourceConfig
from publisher.core.httpclient import HttpClient, HttpError
from publisher.core.metrics import Metrics
from publisher.intake.demodata import intake_adapter
from publisher.intake.sources import (
    Fetcher,
    PollContext,
    PollResult,
    Source,
    SourceError,
    make_source,
)
from publisher.store import sources as store_sources
from publisher.store.sources import SourceState
from publisher.store.types import Engine

log = logging.getLogger(__name__)
Status = Literal["ok", "failed", "waiting"]


@dataclass(frozen=True, slots=True)
class SourceRun:
    name: str
    kind: str
    status: Status  # waiting: backing off after failures, not polled this time
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    detail: str = ""


@dataclass
class CollectReport:
    sources: list[SourceRun] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Anything added or updated: the feeds should be rebuilt now."""
        return any(s.added or s.updated for s in self.sources)

    @property
    def failed(self) -> list[str]:
        return [s.name for s in self.sources if s.status == "failed"]

    def summary(self) -> str:
        added = sum(s.added for s in self.sources)
        updated = sum(s.updated for s in self.sources)
        return (
            f"{len(self.sources)} source(s): added {added}, updated {updated}, "
            f"failed {len(self.failed)}"
        )


def backoff(settings: Settings, failures: int) -> timedelta:
    base = settings.collect_backoff_base
    cap = settings.collect_backoff_max
    return min(cap, base * (1 << min(max(failures - 1, 0), 30)))


def _fresh(source: Source, old: SourceState | None) -> SourceState:
    """The stored state, or a new one when the source is new or now points elsewhere."""
    if old is None or old.kind != source.kind or old.target != source.target:
        return SourceState(name=source.name, kind=source.kind, target=source.target)
    return old


def run_collect(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime,
    client: Fetcher | None = None,
    metrics: Metrics | None = None,
) -> CollectReport:
    """Poll each configured source whose next attempt is due (blocking: run it in a thread)."""
    report = CollectReport()
    if not settings.sources:
        return report
    if client is None:
        with HttpClient(timeout=settings.source_timeout) as http:
            return run_collect(settings, engine, now=now, client=http, metrics=metrics)
    with engine.connect() as conn:
        states = store_sources.all_states(conn)
    adapt = intake_adapter(settings)  # None outside demo mode
    ctx = PollContext(engine, settings.tz, now, client, settings.source_max_bytes, adapt)
    for config in settings.sources:
        run = _poll_one(settings, config, states.get(config.name), ctx)
        if run.status == "failed" and metrics is not None:
            metrics.source_errors.labels(run.name).inc()
        report.sources.append(run)
    return report


def _poll_one(
    settings: Settings, config: SourceConfig, old: SourceState | None, ctx: PollContext
) -> SourceRun:
    source = make_source(config)
    state = _fresh(source, old)
    if state.next_attempt_at is not None and state.next_attempt_at > ctx.now:
        return SourceRun(source.name, source.kind, "waiting", detail=state.last_error)
    try:
        result = source.poll(state, ctx)
    except (SourceError, HttpError) as exc:
        error = str(exc)
    except Exception as exc:  # a bug in one source must not stop the others
        log.exception("source %s: unexpected error", source.name)
        error = f"{type(exc).__name__}: {exc}"
    else:
        _save(ctx.engine, _succeeded(state, result, ctx.now))
        log.info("source %s: %s", source.name, result.summary())
        return SourceRun(
            source.name, source.kind, "ok", result.added, result.updated, result.unchanged,
            result.rejected, result.summary(),
        )  # fmt: skip
    failed = _failed(settings, state, error, ctx.now)
    _save(ctx.engine, failed)
    log.warning(
        "source %s: poll failed (%d in a row, next attempt %s): %s",
        source.name, failed.failures, failed.next_attempt_at, error,
    )  # fmt: skip
    return SourceRun(source.name, source.kind, "failed", detail=error)


def _succeeded(state: SourceState, result: PollResult, now: datetime) -> SourceState:
    return replace(
        state,
        etag=result.etag,
        last_modified=result.last_modified,
        since_cursor=result.since_cursor,
        last_attempt_at=now,
        last_success_at=now,
        failures=0,
        last_error="",
        last_result=result.summary(),
        next_attempt_at=None,
    )


def _failed(settings: Settings, state: SourceState, error: str, now: datetime) -> SourceState:
    failures = state.failures + 1
    return replace(
        state,
        last_attempt_at=now,
        failures=failures,
        last_error=error[:2000],
        next_attempt_at=now + backoff(settings, failures),
    )


def _save(engine: Engine, state: SourceState) -> None:
    with engine.begin() as conn:
        store_sources.save_state(conn, state)
