"""`publisher feeds …`"""

from __future__ import annotations

import typer
from rich.table import Table

from publisher.cli.common import console, open_app

app = typer.Typer(help="RSS, Atom and JSON feeds.", no_args_is_help=True)


@app.command("build")
def build(
    force: bool = typer.Option(False, "--force", help="Rewrite every feed, changed or not."),
) -> None:
    """Build every enabled feed into feeds_dir; only changed files are rewritten."""
    from publisher.feeds.publish import run_feeds  # feedgen and lxml: for this command only

    with open_app() as pub:
        run = run_feeds(pub.settings, pub.engine, now=pub.clock.now(), force=force)
    table = Table("feed", "items", "status", "bytes")
    for r in run.results:
        status = "[green]changed[/green]" if r.changed else "unchanged"
        table.add_row(r.path, str(r.items), status, f"{r.bytes:,}")
    console.print(table)
    changed = sum(r.changed for r in run.results)
    console.print(f"{changed} of {len(run.results)} files changed in {pub.settings.feeds_dir}")
    if run.pings.sent or run.pings.failed or run.pings.pending:
        console.print(
            f"WebSub: {run.pings.sent} pings sent, {run.pings.failed} failed, "
            f"{run.pings.pending} pending for the next build"
        )
