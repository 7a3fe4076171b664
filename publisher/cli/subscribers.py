"""`publisher subscribers …`: import, add, remove, list and export subscribers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, TextIO, get_args

import typer
from rich.text import Text

from publisher.cli import moving as moving_cli
from publisher.cli.common import (
    console,
    fail,
    limit_option,
    open_app,
    require_signing_key,
    say,
)
from publisher.consent import history as consent_history
from publisher.consent.record import act_of, site_key
from publisher.core.errors import InputError
from publisher.core.vocab import ImportSource, pick
from publisher.intake.records import NotUtf8
from publisher.readers import subscribers as use

IMPORT_SOURCES: tuple[ImportSource, ...] = get_args(ImportSource)

subscribers_app = typer.Typer(help="Import, add, remove, list and export subscribers.",
                              no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(subscribers_app, name="subscribers")


# Each row is its own transaction.
IMPORT_KEPT = (
    "the row being written was rolled back; the rows before it were imported, the rest were "
    "not (importing the file again is safe)"
)


@subscribers_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file.")],
    send_confirmation: Annotated[
        bool,
        typer.Option(
            "--send-confirmation",
            help="Queue a confirmation mail to each pending row not asked before.",
        ),
    ] = False,
    source: Annotated[
        str,
        typer.Option("--from", help="mailchimp, listmonk, ghost, substack or csv (ours)."),
    ] = "",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read the file and say what would happen; write nothing."),
    ] = False,
) -> None:
    """Upsert subscribers by email; bad rows are reported by line number (exit 1)."""
    tool = pick(source or "csv", IMPORT_SOURCES)
    if not source:
        moving_cli.refuse_other_tools(file)
    if tool is None:
        raise fail(f"--from: must be one of {', '.join(IMPORT_SOURCES)}, got {source!r}")
    moving_cli.refuse_blank(file)
    if tool != "csv" or dry_run:
        moving_cli.import_from(file, tool, send_confirmation=send_confirmation, dry_run=dry_run)
        return
    with open_app(kept=IMPORT_KEPT) as app:
        if send_confirmation:
            require_signing_key(app)  # before anything is written: the mails need tokens
        try:
            report = use.import_file(app.engine, file, now=app.clock.now(),
                                     act=act_of(app.settings, "import"))  # fmt: skip
        except NotUtf8 as exc:
            raise fail(f"{file}:{exc}; nothing was imported") from None
        except OSError as exc:
            raise fail(f"{file}: {exc.strerror or exc}") from None
        except InputError as exc:
            raise fail(str(exc)) from None
        asked = None
        if send_confirmation and report.pending:
            asked = use.ask_to_confirm(app.engine, app.settings, report.pending,
                                       now=app.clock.now())  # fmt: skip
    if not (report.added + report.updated + report.unchanged + len(report.errors)):
        say(moving_cli.no_rows(file, dry_run=False))
        return
    for err in report.errors:
        console.print(Text.assemble(("rejected", "red"), f" {file}:{err}"), highlight=False)
    say(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.errors)}")  # fmt: skip
    say_pending(len(report.pending), asked)
    if report.errors:
        raise typer.Exit(1)


def say_pending(pending: int, asked: use.Asked | None) -> None:
    """What will happen to the pending rows: an operator must never lose a list unawares."""
    if not pending:
        return
    if asked is None:
        say(
            f"pending {pending}: they get no mail until they confirm, and nothing was sent; "
            "they are kept until asked (run again with --send-confirmation to ask them)"
        )
        return
    say(
        f"pending {pending}: queued {asked.asked} confirmation mails (sent at the delivery "
        f"rate), {asked.already} asked before, {asked.capped} over today's per-address cap; "
        "who does not confirm within 7 days of being asked is deleted by the nightly cleanup"
    )


@subscribers_app.command("add")
def add(
    email: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    sections: Annotated[
        str | None, typer.Option(help="Section slugs, ;-separated; empty: all (the default).")
    ] = None,
    frequency: Annotated[str | None, typer.Option(help="daily (the default) or weekly.")] = None,
    status: Annotated[str | None, typer.Option(help="pending or confirmed (the default).")] = None,
) -> None:
    # Defaults apply to a new subscriber only: None means "not given, keep what they have".
    """Add one subscriber, or change only the options given on an existing one."""
    options = {"name": name, "sections": sections, "frequency": frequency, "status": status}
    given = {"email": email, **{k: v for k, v in options.items() if v is not None}}
    with open_app() as app:
        try:
            outcome = use.add_or_update(
                app.engine,
                given,
                now=app.clock.now(),
                defaults={"status": "confirmed"},
                act=act_of(app.settings, "cli"),
            )
        except InputError as exc:
            raise fail(str(exc), code=1) from None
    say(f"{outcome}: {email}")


@subscribers_app.command("remove")
def remove(email: str) -> None:
    """Delete a subscriber and their section choice; cancel digests and confirmations queued
    for them."""
    with open_app() as app:
        cancelled = use.remove(app.engine, email, now=app.clock.now(),
                               act=act_of(app.settings, "cli"))  # fmt: skip
        if cancelled is None:
            raise fail(f"no subscriber {email}", code=1)
    say(f"removed {email}; cancelled {cancelled} queued messages to them")


@subscribers_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, confirmed or unsubscribed.")] = None,
    limit: Annotated[int, limit_option("At most this many.")] = 50,
) -> None:
    """Subscribers with their frequency, status and sections."""
    chosen = pick(status, use.ALL_STATUSES)
    if status is not None and chosen is None:
        # A typo would otherwise list nobody, as if there were no such subscribers.
        raise fail(f"--status: must be one of {', '.join(use.ALL_STATUSES)}, got {status!r}")
    with open_app() as app:
        rows = use.listing(app.engine, status=chosen, limit=limit)
    for s in rows:
        sections = ";".join(s.sections) or "(all)"
        say(f"{s.email}\t{s.name}\t{s.frequency}\t{s.status}\t{sections}")
    say(f"{len(rows)} shown")


@subscribers_app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (.csv/.jsonl).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "",
    consent: Annotated[
        bool,
        typer.Option("--consent", help="The consent log instead (deleted readers: hash only)."),
    ] = False,
) -> None:
    """Every subscriber in the import format, or the consent log (stdout unless --output)."""
    kind = fmt or (output.suffix.lstrip(".") if output else "csv")
    if kind not in ("csv", "jsonl"):
        raise fail(f"--format: csv or jsonl, got {kind!r}")
    with open_app() as app:

        def write(out: TextIO) -> int:
            if consent:
                return consent_history.export(app.engine, site_key(app.settings), out, fmt=kind)
            return use.export(app.engine, out, fmt=kind)

        if output is None:
            n = write(sys.stdout)
        else:
            try:
                with output.open("w", encoding="utf-8", newline="") as fh:
                    n = write(fh)
            except OSError as exc:
                raise fail(f"--output: cannot write {output}: {exc.strerror or exc}") from None
    if output is not None:
        say(f"exported {n} {'consent log rows' if consent else 'subscribers'} to {output}")
