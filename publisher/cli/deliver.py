"""`publisher deliver`: drain the outbox through smtp_url, with a progress bar."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from publisher.cli.common import console, fail, open_app
from publisher.core import eventloop
from publisher.delivery.configured import build_drain
from publisher.delivery.dkimsign import DkimError
from publisher.delivery.drain import STOP_REASON, Drain, Report
from publisher.messages.outboxstatus import queued_count


def register(root: typer.Typer) -> None:
    root.command("deliver")(deliver)


def deliver(
    until_empty: bool = typer.Option(False, "--until-empty", help="Stop when nothing is due."),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after S seconds."),
) -> None:
    """Drain the outbox through smtp_url. SIGTERM stops claiming and exits cleanly."""
    if max_seconds is not None and not max_seconds > 0:  # `not >` also refuses nan
        raise fail(f"--max-seconds: must be greater than 0, got {max_seconds:g}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        # Why the run stopped is the command's one last line (below), not a second one.
        handler.addFilter(_not_stop_reason)
    try:
        _deliver(until_empty=until_empty, max_seconds=max_seconds)
    finally:  # in-process callers (tests, embedding) keep their handlers as they were
        for handler in handlers:
            handler.removeFilter(_not_stop_reason)


def _deliver(*, until_empty: bool, max_seconds: float | None) -> None:
    with open_app() as pub:
        due = queued_count(pub.engine)
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
            running = _run(drain, until_empty=until_empty, max_seconds=max_seconds)
            report = eventloop.run(running, pub.settings.event_loop)
    console.print(
        f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}, "
        f"expired {report.expired}, skipped {report.skipped} (suppressed/expired at claim), "
        f"released {report.released}"
    )
    sender = drain.config.sender
    if report.sender_refused:
        raise fail(
            f"delivery paused: the relay refuses the return path <{sender}> "
            f"(delivery_return_path or from_address): {report.sender_refused}; "
            "nobody was failed or suppressed, rows stay queued",
            3,
        )
    if report.same_bounces:
        raise fail(
            "delivery paused: the same hard bounce for many different recipients, which looks "
            f"like a refusal of the return path <{sender}> (delivery_return_path or "
            f"from_address): {report.same_bounces}; nobody more was suppressed, rows stay queued",
            3,
        )
    if report.paused:
        raise fail(f"delivery paused by the circuit breaker (policy refusals): {report.paused}", 3)
    if report.relay_down:
        raise fail(f"relay unavailable, rows backed off: {report.relay_down}", 3)
    if report.error:
        raise fail(f"delivery stopped: {report.error}; untried rows are released", 2)


def _not_stop_reason(record: logging.LogRecord) -> bool:
    return not all(getattr(record, k, False) for k in STOP_REASON)


async def _run(drain: Drain, *, until_empty: bool, max_seconds: float | None) -> Report:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, drain.stop)
    return await drain.run(until_empty=until_empty, max_seconds=max_seconds)
