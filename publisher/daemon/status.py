"""What `publisher status` shows, gathered from schedules.yaml and the store (read-only).

Schedules: the next run comes from the trigger; the last run of a digest from digest_runs and
of `collect` from the sources' last attempts. The other jobs leave no row to read (see
/metrics of the running daemon for them). The daemon's own state (is its drain running, and
why not) comes from its operations listener's /healthz on this machine.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from publisher.core.config import Settings
from publisher.core.schedules import Schedules, Timing
from publisher.daemon.scheduler import next_fire_times, trigger_for
from publisher.store import digest_runs, stats
from publisher.store import sources as store_sources
from publisher.store.types import Engine

SYSTEM_JOBS = ("collect", "feeds", "deliver", "cleanup", "reconfirm", "inbound")


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    job: str
    timing: str
    last_run: datetime | None
    last_result: str
    next_run: datetime | None


@dataclass(frozen=True, slots=True)
class RunRow:
    digest_id: str
    run_id: int
    window_end: datetime
    ran_at: datetime
    status: str
    items: int
    recipients: int
    outbox: dict[str, int]


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    kind: str
    target: str
    state: str  # ok | failing | never polled
    last_success: datetime | None
    failures: int
    next_attempt: datetime | None
    last_result: str
    last_error: str


@dataclass(frozen=True, slots=True)
class DaemonRow:
    url: str
    state: str  # ok | unavailable | not reachable | not checked
    problems: list[str] = field(default_factory=list)


def daemon_health(settings: Settings, *, timeout: float = 2.0) -> DaemonRow:
    """Ask the local daemon's operations listener how its parts are (drain, scheduler)."""
    if not settings.ops_port:
        return DaemonRow("", "not checked", ["ops_port is 0: the daemon has no ops listener"])
    host = settings.ops_host
    host = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    url = f"http://{f'[{host}]' if ':' in host else host}:{settings.ops_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:  # 503: the body says why
        try:
            body = json.loads(exc.read())
        except ValueError:
            return DaemonRow(url, "unavailable", [f"HTTP {exc.code}"])
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return DaemonRow(url, "not reachable", [f"no daemon answered ({reason})"])
    problems = [str(p) for p in body.get("problems", [])]
    return DaemonRow(url, "ok" if body.get("status") == "ok" else "unavailable", problems)


@dataclass
class Status:
    now: datetime
    schedules: list[ScheduleRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)
    oldest_queued: datetime | None = None
    # Of the queued: held through the quiet hours (not due before held_until, the last release).
    held_for_quiet_hours: int = 0
    held_until: datetime | None = None
    runs: list[RunRow] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)
    suppressions: dict[str, int] = field(default_factory=dict)
    daemon: DaemonRow | None = None

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def describe(timing: Timing) -> str:
    if timing.cron is not None:
        return f"cron {timing.cron}"
    if timing.every is not None:
        return f"every {timing.every}"
    if timing.at is not None:
        return f"daily at {timing.at}"
    assert timing.weekly is not None
    return f"weekly {timing.weekly.day} {timing.weekly.at}"


def _next(timing: Timing, schedules: Schedules, now: datetime) -> datetime | None:
    times = next_fire_times(trigger_for(timing, schedules.tz), now, 1)
    return times[0] if times else None


def _source_rows(
    settings: Settings, states: dict[str, store_sources.SourceState]
) -> list[SourceRow]:
    rows: list[SourceRow] = []
    for config in settings.sources:
        st = states.get(config.name)
        state = "never polled" if st is None else ("failing" if st.failures else "ok")
        target = str(getattr(config, "url", "") or getattr(config, "path", ""))
        rows.append(
            SourceRow(
                config.name, config.kind, target, state,
                st.last_success_at if st else None, st.failures if st else 0,
                st.next_attempt_at if st else None, st.last_result if st else "",
                st.last_error if st else "",
            )
        )  # fmt: skip
    return rows


def gather(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime,
    schedules: Schedules | None,
    problems: list[str] | None = None,
    runs: int = 10,
) -> Status:
    out = Status(now=now, problems=list(problems or []))
    with engine.connect() as conn:
        states = store_sources.all_states(conn)
        out.outbox = stats.outbox_depth(conn)
        out.oldest_queued = stats.oldest_queued(conn)
        held = stats.held_queued(conn, now=now)
        out.held_for_quiet_hours, out.held_until = held.count, held.until
        out.suppressions = stats.suppression_counts(conn)
        out.sources = _source_rows(settings, states)
        if schedules is None:
            return out
        history: list[RunRow] = []
        for d in schedules.digests:
            rows = digest_runs.list_runs(conn, d.id, limit=runs)
            last = rows[0] if rows else None
            out.schedules.append(
                ScheduleRow(
                    f"digest:{d.id}", describe(d), last.created_at if last else None,
                    last.status if last else "", _next(d, schedules, now),
                )
            )  # fmt: skip
            for r in rows:
                counts = digest_runs.outbox_counts(
                    conn, digest_runs.dedupe_prefix(r.digest_id, r.id)
                )
                history.append(
                    RunRow(r.digest_id, r.id, r.window_end, r.created_at, r.status,
                           r.item_count, r.recipient_count, counts)
                )  # fmt: skip
    out.runs = sorted(history, key=lambda r: r.ran_at, reverse=True)[:runs]
    mine = [states[c.name] for c in settings.sources if c.name in states]
    polled = [s.last_attempt_at for s in mine if s.last_attempt_at is not None]
    failing = sum(1 for s in out.sources if s.state == "failing")
    for name in SYSTEM_JOBS:
        timing: Timing = getattr(schedules.jobs, name)
        ran: datetime | None = None
        result = ""
        if name == "collect" and polled:
            ran, result = max(polled), f"{failing} source(s) failing" if failing else "ok"
        out.schedules.append(
            ScheduleRow(name, describe(timing), ran, result, _next(timing, schedules, now))
        )
    return out
