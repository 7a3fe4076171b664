"""`publisher demo`: what `make demo` runs. Sample content, then the daemon on demo defaults."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from publisher.app import App
from publisher.cli.common import console, fail, open_app
from publisher.cli.run import run as run_daemon
from publisher.importers import read_records
from publisher.ingest import import_articles
from publisher.store import articles as store_articles
from publisher.store.views import has_views
from publisher.subscribers import import_file as import_subscribers
from publisher.viewcounts import import_view_counts, most_viewed

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# Registered a little in the past, so the first demo digest (due now) already lists them.
BACKDATE = timedelta(minutes=5)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    run: Annotated[
        bool, typer.Option("--run/--no-run", help="Start the daemon after setting up.")
    ] = True,
) -> None:
    """Set up var/ with sample articles, views and subscribers, build feeds, start the daemon.

    Safe to run again: nothing is duplicated (articles are upserted, views loaded only into an
    empty store, subscribers upserted by address).
    """
    if not (SAMPLES / "articles.jsonl").exists():
        raise fail(f"sample content not found in {SAMPLES}")
    os.environ.setdefault("PUBLISHER_DEMO", "true")
    os.environ.setdefault("PUBLISHER_SCHEDULES_FILE", str(SAMPLES / "schedules.demo.yaml"))
    inbox = Path("var/inbox")
    os.environ.setdefault(
        "PUBLISHER_SOURCES", json.dumps([{"kind": "folder", "name": "inbox", "path": str(inbox)}])
    )
    inbox.mkdir(parents=True, exist_ok=True)
    with open_app() as app:
        _seed(app)
        s = app.settings
        base = f"http://{s.web_host}:{s.web_port}"
        console.print(
            "\nopen:\n"
            f"  feeds index     {base}/feeds/index.html\n"
            f"  subscribe page  {base}/subscribe\n"
            f"  share form      {base}/articles/20261123-0021/share\n"
            f"  demo mailbox    {base}/dev/mail\n"
            f"drop article files (.json/.jsonl) into {inbox}/ to see them collected.",
            highlight=False,
        )
    if run:
        run_daemon(role="all", log_format="text", demo=True)


def _seed(app: App) -> None:
    now = app.clock.now()
    tz = app.settings.tz
    with (SAMPLES / "articles.jsonl").open("rb") as fh:
        report = import_articles(app.engine, read_records(fh, "jsonl"), tz=tz, now=now - BACKDATE)
    console.print(f"articles: {report.summary()}")
    with app.engine.connect() as conn:
        seen_views = has_views(conn)
    if not seen_views:
        with (SAMPLES / "views.jsonl").open("rb") as fh:
            views = import_view_counts(app.engine, read_records(fh, "jsonl"), tz=tz)
        console.print(f"views: {views.summary()}")
    subs = import_subscribers(app.engine, SAMPLES / "subscribers.csv", now=now)
    console.print(
        f"subscribers: added {subs.added}, updated {subs.updated}, unchanged {subs.unchanged}"
    )
    from publisher.feedjob import run_feeds  # feedgen and lxml: for the commands that build

    run = run_feeds(app.settings, app.engine, now=now)
    changed = sum(1 for r in run.results if r.changed)
    console.print(
        f"feeds: {len(run.results)} files in {app.settings.feeds_dir}/, {changed} changed"
    )
    with app.engine.connect() as conn:
        latest = store_articles.latest_articles(conn, limit=1)
    # The samples are dated: rank as of the newest sample so the box is never empty.
    as_of = min(now, latest[0].published_at + timedelta(hours=1)) if latest else now
    console.print("most viewed (많이 본 뉴스):")
    for r in most_viewed(app.engine, now=as_of, window=timedelta(hours=24), limit=5):
        console.print(f"  {r.rank}. {r.article.title} ({r.views:,} views)", highlight=False)
