"""`publisher articles …`"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO, Literal

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from publisher.cli.common import console, err_console, fail, limit_option, open_app
from publisher.intake import articles as articles_uc
from publisher.intake.batch import Problem, import_articles
from publisher.intake.records import FileError, detect_format, read_items
from publisher.intake.validate import REQUIRED
from publisher.intake.workers import WorkerDied, default_workers

app = typer.Typer(help="Import, list and retract articles.", no_args_is_help=True)

FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="jsonl, json or csv; by default from the file extension."),
]


@contextmanager
def file_progress(fh: BinaryIO, path: Path, label: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar over the bytes read, only when stderr is a terminal."""
    if not err_console.is_terminal:
        yield lambda: None
        return
    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=path.stat().st_size)
        yield lambda: bar.update(task, completed=fh.tell())


def print_problems(rejected: list[Problem], warnings: list[Problem]) -> None:
    for p in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {p}", highlight=False)
    for p in rejected:
        err_console.print(f"[red]rejected:[/red] {p}", highlight=False)


def workers_for(path: Path) -> int:
    """Process-parallel validation pays off only once a file is big enough."""
    return default_workers() if path.stat().st_size > 4 * 1024 * 1024 else 0


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON Lines, JSON array or CSV file.")],
    fmt: FormatOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Validation processes; default: 2 (with 2+ cores) for files over 4 MB.",
        ),
    ] = None,
) -> None:
    """Import (upsert by id) articles; each rejected record is reported; exit 1 if any."""
    try:
        kind = detect_format(file, fmt)
        fh = file.open("rb")
    except FileError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    with fh, open_app() as application:
        settings = application.settings
        try:
            records = read_items(fh, kind, required=REQUIRED)
            with file_progress(fh, file, f"importing {file.name}") as tick:
                report = import_articles(
                    application.engine,
                    records,
                    tz=settings.tz,
                    now=application.clock.now(),
                    workers=workers_for(file) if workers is None else workers,
                    progress=tick,
                )
        except (FileError, WorkerDied) as exc:
            raise fail(f"{file}: {exc}", code=1) from None
    print_problems(report.rejected, report.warnings)
    console.print(report.summary(), highlight=False)
    if report.rejected:
        raise typer.Exit(1)


@app.command("list")
def list_(
    section: Annotated[str | None, typer.Option(help="Only this section (slug).")] = None,
    limit: Annotated[int, limit_option("How many, newest first.")] = 20,
    retracted: Annotated[bool, typer.Option("--retracted", help="Include retracted ones.")] = False,
) -> None:
    """List the newest articles: published time (site timezone), id, section, title."""
    with open_app() as application:
        tz = application.settings.tz
        found = articles_uc.latest_articles(
            application.engine, limit=limit, section=section, include_retracted=retracted
        )
    for a in found:
        when = a.published_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        mark = " [retracted]" if a.status == "retracted" else ""
        console.print(f"{when}  {a.external_id}  {a.section or '-'}  {a.title}{mark}", markup=False)
    if not found:
        err_console.print("no articles", highlight=False)


@app.command("retract")
def retract(
    article_id: Annotated[str, typer.Argument(help="The article's id.")],
    undo: Annotated[
        bool, typer.Option("--undo", help="Put a retracted article back (published).")
    ] = False,
) -> None:
    """Mark an article retracted: it leaves feeds, rankings and future digests.

    It stays retracted when the same version is imported again; a new version from the CMS
    (anything in it changed) brings the CMS's status.
    """
    status: Literal["published", "retracted"] = "published" if undo else "retracted"
    with open_app() as application:
        now = application.clock.now()
        found = articles_uc.set_status(application.engine, article_id, status, now=now)
    if not found:
        raise fail(f"no article with id {article_id!r}", code=1)
    done = "published again" if undo else "retracted"
    console.print(f"{done} {article_id}", markup=False, highlight=False)
