"""`publisher status`: schedules, outbox, digest runs, sources and suppressions at a glance."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from publisher.cli.common import console, open_app
from publisher.core.errors import ScheduleError
from publisher.core.vocab import OutboxStatus
from publisher.daemon.status import Status, daemon_health, gather

# Display order (waiting first, then finished); the words are checked against OutboxStatus.
OUTBOX_ORDER: tuple[OutboxStatus, ...] = (
    "queued",
    "sending",
    "deferred",
    "sent",
    "failed",
    "suppressed",
    "expired",
)


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object instead of tables.")
    ] = False,
    runs: Annotated[int, typer.Option(min=1, max=200, help="How many digest runs to list.")] = 10,
) -> None:
    """Each schedule's last and next run, the outbox, recent digest runs, sources, suppressions."""
    with open_app() as app:
        problems: list[str] = []
        try:
            schedules = app.schedules
        except ScheduleError as exc:
            schedules, problems = None, str(exc).splitlines()
        report = gather(
            app.settings, app.engine, now=app.clock.now(), schedules=schedules,
            problems=problems, runs=runs,
        )  # fmt: skip
        report.daemon = daemon_health(app.settings)
        tz = app.settings.tz
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    if report.daemon is not None:
        console.print(daemon_line(report), highlight=False)
    for part in tables(report, tz):
        console.print(part, highlight=False)
    for line in report.problems:
        console.print(f"[red]problem:[/red] {line}", highlight=False)


def daemon_line(report: Status) -> str:
    d = report.daemon
    assert d is not None
    colour = {"ok": "green", "unavailable": "red"}.get(d.state, "yellow")
    where = f" ({escape(d.url)})" if d.url else ""
    lines = [f"Daemon{where}: [{colour}]{d.state}[/{colour}]"]
    lines += [f"  [red]problem:[/red] {escape(p)}" for p in d.problems]
    return "\n".join(lines)


def _at(value: datetime | None, tz: tzinfo) -> str:
    return "—" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def tables(report: Status, tz: tzinfo) -> list[Table | str]:
    """The tables, then one line per source with its target and last result or error."""
    zone = f"times in {tz}"
    sched = Table("job", "when", "last run", "result", "next run", title=f"Schedules ({zone})")
    for row in report.schedules:
        sched.add_row(row.job, row.timing, _at(row.last_run, tz), row.last_result or "—",
                      _at(row.next_run, tz))  # fmt: skip
    outbox = Table("status", "messages", title="Outbox")
    for name in (*OUTBOX_ORDER, *sorted(set(report.outbox) - set(OUTBOX_ORDER))):
        outbox.add_row(name, str(report.outbox.get(name, 0)))
    oldest = "—"
    if report.oldest_queued is not None:
        age = max(0, int((report.now - report.oldest_queued).total_seconds()))
        oldest = f"{age} s ago"
    outbox.add_row("oldest queued", oldest)
    if report.held_for_quiet_hours:  # counted in queued, but not due before the window ends
        outbox.add_row(
            "held for quiet hours",
            f"{report.held_for_quiet_hours} until {_at(report.held_until, tz)}",
        )
    runs = Table("digest", "run", "window end", "status", "items", "recipients",
                 "sent/failed/queued", title="Last digest runs")  # fmt: skip
    for r in report.runs:
        queued = sum(r.outbox.get(k, 0) for k in ("queued", "sending", "deferred"))
        counts = f"{r.outbox.get('sent', 0)}/{r.outbox.get('failed', 0)}/{queued}"
        runs.add_row(r.digest_id, str(r.run_id), _at(r.window_end, tz), r.status, str(r.items),
                     str(r.recipients), counts)  # fmt: skip
    sources = Table("source", "kind", "state", "last success", "failures", "next attempt",
                    title="Sources")  # fmt: skip
    lines: list[str] = []
    for src in report.sources:
        state = f"[red]{src.state}[/red]" if src.failures else src.state
        sources.add_row(src.name, src.kind, state, _at(src.last_success, tz), str(src.failures),
                        _at(src.next_attempt, tz) if src.failures else "next collect")  # fmt: skip
        detail = (
            f"[red]error:[/red] {escape(src.last_error)}"
            if src.last_error
            else escape(src.last_result or "not polled yet")
        )
        lines.append(f"  [bold]{src.name}[/bold] ({escape(src.target)}): {detail}")
    supp = Table("reason", "addresses", title="Suppressions")
    for reason, n in sorted(report.suppressions.items()):
        supp.add_row(reason, str(n))
    supp.add_row("total", str(sum(report.suppressions.values())))
    return [sched, outbox, runs, sources, *lines, supp]
