"""`publisher inbound process|poll|status`: bounces, complaints and emailed unsubscribes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.common import fail, open_app, say
from publisher.inbound import files, sources
from publisher.inbound.effects import Applied, Rules
from publisher.inbound.status import COLUMNS, by_source_and_day

app = typer.Typer(help="Bounces, complaints, emailed unsubscribes.", no_args_is_help=True)

# sysexits EX_TEMPFAIL: a Postfix pipe transport keeps the message and tries again later.
EX_TEMPFAIL = 75


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="inbound")


def _line(name: str, a: Applied) -> str:
    if a.duplicate:
        return f"{name}: already processed ({a.outcome})"
    if a.claimed is not None:
        return f"{name}: {a.outcome} (unverified, not acted on; kept) claims {a.claimed}"
    what = a.outcome + (
        " (unmatched, kept)" if a.keep_unmatched and a.outcome != "unmatched" else ""
    )
    who = f" {a.address}" if a.address else ""
    return f"{name}: {what}{who}" + (
        f": {a.detail}" if a.detail and a.outcome == "unmatched" else ""
    )


@app.command("process")
def process(
    paths: Annotated[
        list[str], typer.Argument(metavar="FILE…", help="Message files; - reads one from stdin.")
    ],
    recipient: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient", help="The envelope recipient (a pipe transport's ${recipient})."
        ),
    ] = None,
) -> None:
    """Process messages (bounces, complaints, unsubscribes); exit 0 once each is stored."""
    stdin = "-" in paths
    if stdin and len(paths) > 1:
        raise fail("FILE: - (standard input) is one message on its own")
    try:
        _process(paths, tuple(recipient or ()), stdin)
    except typer.Exit as exc:
        # Nothing was stored: a pipe transport must keep the message, not bounce it.
        if stdin and exc.exit_code:
            raise typer.Exit(EX_TEMPFAIL) from None
        raise


def _process(paths: list[str], recipients: tuple[str, ...], stdin: bool) -> None:
    with open_app(kept="nothing of this message was applied; it can be processed again") as pub:
        s, now = pub.settings, pub.clock.now()
        rules = Rules.of(s)
        kw = {"unmatched": s.inbound_unmatched_dir, "now": now, "limit": s.inbound_max_bytes,
              "recipients": recipients}  # fmt: skip
        if stdin:
            applied = files.process_stream(pub.engine, rules, sys.stdin.buffer, **kw)  # type: ignore[arg-type]
            say(_line("-", applied))
            return
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise fail([_not_a_file(p) for p in missing])
        for p in paths:
            say(_line(p, files.process_file(pub.engine, rules, Path(p), **kw)))  # type: ignore[arg-type]


@app.command("poll")
def poll() -> None:
    """Process the configured inbound_sources (Maildir folders, IMAP mailboxes) once."""
    with open_app() as pub:
        report = sources.poll(pub.settings, pub.engine, now=pub.clock.now())
    say(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command("status")
def status(
    days: Annotated[int, typer.Option(min=1, max=366, help="Days back, today included.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Per source and per day: processed, matched, bounces, complaints, unsubscribes, …"""
    with open_app() as pub:
        rows = by_source_and_day(pub.engine, now=pub.clock.now(), days=days)
    if as_json:
        typer.echo(json.dumps([{"day": r.day, "source": r.source, **r.counts} for r in rows],
                              indent=2))  # fmt: skip
        return
    say("day\tsource\t" + "\t".join(COLUMNS))
    for r in rows:
        say(f"{r.day}\t{r.source}\t" + "\t".join(str(r.counts[c]) for c in COLUMNS))
    if not rows:
        say(f"nothing received in the last {days} days")


def _not_a_file(path: str) -> str:
    """Why a path cannot be processed, with what to do instead for a Maildir folder."""
    p = Path(path)
    if (p / "new").is_dir():
        return (f"{path}: a Maildir folder, not a message: list it in inbound_sources and "
                "run `publisher inbound poll`")  # fmt: skip
    if p.is_dir():
        return f"{path}: a folder, not a message file"
    return f"{path}: no such file"
