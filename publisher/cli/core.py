"""Top-level commands: init, check, demo."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from publisher.cli.common import console, fail, open_app
from publisher.config import ConfigError, load_settings
from publisher.feedjob import run_feeds
from publisher.importers import read_records
from publisher.ingest import import_articles
from publisher.schedules import load_schedules
from publisher.store import articles as store_articles
from publisher.store.views import has_views
from publisher.viewcounts import import_view_counts, most_viewed


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("check")(check)
    app.command("demo")(demo)


def init() -> None:
    """Create the database (or bring it up to date). Running it twice changes nothing."""
    with open_app(migrate=False) as app:
        before, after = app.migrate()
        where = app.settings.database_url
        if before == after:
            console.print(f"database {where} is up to date (revision {after})")
        else:
            console.print(f"database {where} migrated from {before or 'empty'} to {after}")


def check() -> None:
    """Validate settings and schedules.yaml together; print every problem, exit 2 on any."""
    problems: list[str] = []
    settings = None
    try:
        settings = load_settings()
        problems.extend(settings.problems())
    except ConfigError as exc:
        problems.extend(exc.problems)
    schedules_path = settings.schedules_file if settings else None
    if schedules_path is not None:
        try:
            load_schedules(schedules_path)
        except ValueError as exc:
            problems.extend(str(exc).splitlines())
    if problems:
        raise fail(problems)
    console.print("configuration OK")


def demo() -> None:
    """Set up the demo: database in var/, sample articles and views, feeds; print a summary.

    Safe to run again: articles are upserted (unchanged ones stay) and views are only loaded
    into an empty store.
    """
    import os

    os.environ.setdefault("PUBLISHER_DEMO", "true")
    with open_app() as app:
        samples = Path(__file__).resolve().parents[2] / "samples"
        if not (samples / "articles.jsonl").exists():
            raise fail(f"sample articles not found in {samples}")
        now = app.clock.now()
        tz = app.settings.tz
        with (samples / "articles.jsonl").open("rb") as fh:
            report = import_articles(app.engine, read_records(fh, "jsonl"), tz=tz, now=now)
        console.print(f"articles: {report.summary()}")
        with app.engine.connect() as conn:
            seen_views = has_views(conn)
        if not seen_views:
            with (samples / "views.jsonl").open("rb") as fh:
                views = import_view_counts(app.engine, read_records(fh, "jsonl"), tz=tz)
            console.print(f"views: {views.summary()}")
        run = run_feeds(app.settings, app.engine, now=now)
        changed = sum(1 for r in run.results if r.changed)
        where = app.settings.feeds_dir
        console.print(f"feeds: {len(run.results)} files in {where}/, {changed} changed")
        with app.engine.connect() as conn:
            latest = store_articles.latest_articles(conn, limit=1)
        # The samples are dated; rank views as of the newest sample so the box is never empty.
        as_of = now
        if latest and latest[0].published_at < now - timedelta(days=1):
            as_of = latest[0].published_at + timedelta(hours=1)
        top = most_viewed(app.engine, now=as_of, window=timedelta(hours=24), limit=5)
        console.print("most viewed (많이 본 뉴스):")
        for r in top:
            console.print(f"  {r.rank}. {r.article.title} ({r.views:,} views)", highlight=False)
        console.print(
            "next: .venv/bin/publisher articles list --limit 10 · "
            f"open {app.settings.feeds_dir}/index.html"
        )
