"""`publisher deliver`, `publisher outbox …` and `publisher suppressions …`."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from datetime import datetime
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from publisher.cli import suppressions
from publisher.cli.common import console, fail, open_app
from publisher.core.timeparse import parse_duration
from publisher.delivery.dkimsign import DkimError
from publisher.delivery.drain import Drain, Report, build_drain
from publisher.messages.enqueue import KINDS, STATUSES, expiry_for
from publisher.store import outbox as store_outbox

app = typer.Typer(help="The outbox: what is waiting to be delivered.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("deliver")(deliver)
    root.add_typer(app, name="outbox")
    root.add_typer(suppressions.app, name="suppressions")


def deliver(
    until_empty: bool = typer.Option(False, "--until-empty", help="Stop when nothing is due."),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after S seconds."),
) -> None:
    """Drain the outbox through smtp_url. SIGTERM stops claiming and exits cleanly."""
    if max_seconds is not None and not max_seconds > 0:  # `not >` also refuses nan
        raise fail(f"--max-seconds: must be greater than 0, got {max_seconds:g}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with open_app() as pub:
        with pub.engine.connect() as conn:
            due = sum(n for s, _k, n in store_outbox.status_counts(conn) if s in ("queued",))
        progress = Progress(
            TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=not console.is_terminal,
        )  # fmt: skip
        task = progress.add_task("deliver", total=due or None)

        def tick(report: Report) -> None:
            progress.update(task, completed=report.sent + report.failed + report.deferred)

        try:
            transform = pub.dkim_transform()
        except DkimError as exc:
            raise fail(f"{exc}; nothing was sent") from None
        drain = build_drain(
            pub.settings, pub.engine, pub.clock, transform=transform, on_progress=tick
        )
        with progress:
            report = asyncio.run(_run(drain, until_empty=until_empty, max_seconds=max_seconds))
    console.print(
        f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}, "
        f"expired {report.expired}, skipped {report.skipped} (suppressed/expired at claim), "
        f"released {report.released}"
    )
    if report.sender_refused:
        raise fail(
            "delivery paused: the relay refuses the return path (delivery_return_path or "
            f"from_address): {report.sender_refused}; nobody was suppressed, rows stay queued",
            3,
        )
    if report.paused:
        raise fail(f"delivery paused by the circuit breaker (policy refusals): {report.paused}", 3)
    if report.relay_down:
        raise fail(f"relay unavailable, rows backed off: {report.relay_down}", 3)
    if report.error:
        raise fail(f"delivery stopped: {report.error}", 2)


async def _run(drain: Drain, *, until_empty: bool, max_seconds: float | None) -> Report:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, drain.stop)
    return await drain.run(until_empty=until_empty, max_seconds=max_seconds)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Counts per status and kind, the oldest queued, the next retry, top deferral reasons."""
    with open_app() as pub, pub.engine.connect() as conn:
        rows = store_outbox.status_counts(conn)
        oldest = store_outbox.oldest_queued(conn)
        retry = store_outbox.next_retry(conn)
        reasons = store_outbox.top_deferral_reasons(conn)
    per_status = {s: 0 for s in STATUSES}
    by_kind: dict[str, dict[str, int]] = {}
    for s, k, n in rows:
        per_status[s] = per_status.get(s, 0) + n
        by_kind.setdefault(k, {})[s] = n
    if as_json:
        doc: dict[str, Any] = dict(per_status)
        doc.update(
            by_kind=by_kind, oldest_queued=_iso(oldest), next_retry=_iso(retry),
            top_deferral_reasons=[{"reply": r, "count": c} for r, c in reasons],
        )  # fmt: skip
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    console.print("  ".join(f"{s}: {n}" for s, n in per_status.items()), highlight=False)
    for kind, counts in sorted(by_kind.items()):
        line = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
        console.print(f"  {kind}: {line}", highlight=False, markup=False)
    console.print(f"oldest queued: {_iso(oldest) or '-'}   next retry: {_iso(retry) or '-'}")
    for reply, count in reasons:
        console.print(f"  {count:>6}  {reply}", highlight=False, markup=False)


@app.command("retry")
def retry(
    failed: bool = typer.Option(False, "--failed", help="Queue failed rows again (required)."),
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {', '.join(KINDS)}."),
) -> None:
    """Put failed messages back in the queue, with a fresh expiry."""
    if not failed:
        raise fail("--failed: required (only failed rows can be retried)")
    if kind is not None and kind not in KINDS:
        raise fail(f"--kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    with open_app() as pub, pub.engine.begin() as conn:
        now = pub.clock.now()
        expires = {k: now + expiry_for(pub.settings, k) for k in KINDS}
        if kind:
            expires.setdefault(kind, now + expiry_for(pub.settings, kind))
        n = store_outbox.requeue_failed(conn, kind=kind, now=now, expires_at=expires)
    console.print(f"{n} failed message(s) queued again")


@app.command("purge")
def purge(
    older_than: str = typer.Option(..., "--older-than", help="e.g. 30d: finished rows older."),
) -> None:
    """Delete finished rows (sent, failed, suppressed, expired) and unused contents."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise fail(f"--older-than: {exc}") from None
    with open_app() as pub, pub.engine.begin() as conn:
        rows, contents = store_outbox.purge(conn, before=pub.clock.now() - age)
    console.print(f"purged {rows} row(s) and {contents} unused content(s)")
