"""`publisher views …`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.cells import cell_len

from publisher.cli.articles import file_progress, print_problems
from publisher.cli.common import console, fail, limit_option, open_app
from publisher.core.errors import ParseError
from publisher.core.timeparse import parse_duration
from publisher.intake.pageviews import import_view_counts, most_viewed
from publisher.intake.records import read_jsonl

app = typer.Typer(help="Page views and the most-viewed ranking.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help='JSON Lines: {"article_id", "count", "at"}.')],
) -> None:
    """Add view counts from an analytics export; rejected lines are reported; exit 1 if any."""
    try:
        fh = file.open("rb")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    with fh, open_app() as application, file_progress(fh, file, f"importing {file.name}") as tick:
        tz = application.settings.tz
        report = import_view_counts(application.engine, read_jsonl(fh), tz=tz, progress=tick)
    print_problems(report.rejected, [])
    console.print(report.summary(), highlight=False)
    if report.rejected:
        raise typer.Exit(1)


@app.command("top")
def top(
    window: Annotated[str, typer.Option(help="How far back: e.g. 24h, 7d, 90m.")] = "24h",
    limit: Annotated[int, limit_option("How many articles.")] = 5,
    section: Annotated[str | None, typer.Option(help="Only this section (slug).")] = None,
) -> None:
    """Print the most viewed articles (많이 본 뉴스): rank, id, title, views."""
    try:
        span = parse_duration(window)
    except ParseError as exc:
        raise fail(f"--window: {exc}") from None
    with open_app() as application:
        ranking = most_viewed(
            application.engine,
            now=application.clock.now(),
            window=span,
            limit=limit,
            section=section,
            weights=application.settings.most_viewed_sources,
        )
    if not ranking:
        console.print(f"no views in the last {window}", highlight=False)
        return
    id_width = max(len(r.article.external_id) for r in ranking)
    title_width = min(60, max(cell_len(r.article.title) for r in ranking))
    for r in ranking:
        title = r.article.title
        pad = " " * max(0, title_width - cell_len(title))
        console.print(
            f"{r.rank:>3}  {r.article.external_id:<{id_width}}  {title}{pad}  {r.views:>8,}",
            markup=False,
            highlight=False,
        )
