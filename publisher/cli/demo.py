"""`publisher demo`: what `make demo` runs. Sample content, then the daemon on demo defaults."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from publisher.app import App
from publisher.cli.common import console, fail, open_app
from publisher.cli.run import run as run_daemon
from publisher.consent.record import act_of
from publisher.core.config import CONFIG_ENV, ConfigError, load_settings
from publisher.intake.batch import import_articles
from publisher.intake.demodata import (
    SAMPLES,
    absolute_environment,
    export_lines,
    live_articles,
    live_views,
)
from publisher.intake.pageviews import import_view_counts, most_viewed
from publisher.intake.records import read_records
from publisher.readers.subscribers import import_file as import_subscribers

ENV_FILE = Path("var/demo.env")
# Registered a little in the past, so the first demo digest (due now) already lists them.
BACKDATE = timedelta(minutes=5)
# Where the printed `digest test` hint sends its copy: a reserved domain; the demo's mail stays
# in var/mail anyway.
TEST_ADDRESS = "you@example.kr"
# The console's demo operator (an admin); a new password is printed on every `make demo`.
DEMO_ADMIN = "admin@example.kr"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    run: Annotated[
        bool, typer.Option("--run/--no-run", help="Start the daemon after setting up.")
    ] = True,
) -> None:
    """Set up var/ with sample articles, views and subscribers, build feeds, start the daemon.

    Safe to run again: nothing is duplicated (articles are upserted, views loaded only when
    none is recent, subscribers upserted by address). Prints the `export` lines that point
    every other command at the demo's files.
    """
    if not (SAMPLES / "articles.jsonl").exists():
        raise fail(f"sample content not found in {SAMPLES}")
    _demo_environment()
    with open_app() as app:
        _seed(app)
        base = app.settings.public_base_url.rstrip("/")
        console.print(
            "\nopen:\n"
            f"  feeds index     {base}/feeds/index.html\n"
            f"  subscribe page  {base}/subscribe\n"
            f"  share form      {base}/articles/20261123-0021/share\n"
            f"  demo mailbox    {base}/dev/mail\n"
            f"  console         {base}/admin/  (sign in as {DEMO_ADMIN}, password "
            f"{_demo_admin(app)})\n"
            "drop articles as a JSON array (.json) or JSON Lines (.jsonl) into\n"
            f"  {_inbox()}/ to see them collected.",
            highlight=False,
            markup=False,  # a folder name may hold "[…]"
            soft_wrap=True,
        )
    lines = export_lines(os.environ)
    _write_private(ENV_FILE, "".join(f"{line}\n" for line in lines))
    cli = _cli()
    console.print(
        "\nother commands (publisher status, digest test, …) act on the demo's files with:\n"
        + "".join(f"  {line}\n" for line in lines)
        + f"or: source {ENV_FILE.resolve()}\n"
        "\nthe first digest goes out shortly after the start; later runs send only once new\n"
        "articles are dropped into var/inbox/ (until then they log `too_few`). A copy now:\n"
        f"  {cli} digest test demo --to {TEST_ADDRESS}\n"
        f"(the running demo mails it within seconds; without it: {cli} deliver --until-empty)",
        highlight=False,
        markup=False,  # values are the user's: "[red]" is text here
        soft_wrap=True,
    )
    if run:
        run_daemon(role="all", log_format="text", demo=True)


def _demo_admin(app: App) -> str:
    """Make (or reset) the demo's console admin; their new password."""
    from publisher.staff import accounts

    password = secrets.token_urlsafe(12)
    now = app.clock.now()
    inv = accounts.invite(app.engine, DEMO_ADMIN, role="admin", now=now, valid=timedelta(hours=1))
    accounts.set_password(app.engine, inv.token, password, now=now)
    return password


def _write_private(path: Path, text: str) -> None:
    """Owner-only from the start: the file holds PUBLISHER_SECRET_KEY when one was given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an earlier demo keeps its mode otherwise
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _cli() -> str:
    """How to call the CLI from here: the virtualenv's script when there is one (make demo)."""
    script = Path(sys.executable).parent / "publisher"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(_relative(script))
    return f"{shlex.quote(sys.executable)} -m publisher"


def _relative(path: Path) -> str:
    """``path`` relative to the current folder when it is under it (.venv/bin/publisher)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _inbox() -> Path:
    return Path("var/inbox").resolve()


def _demo_environment() -> None:
    """The demo's settings, in the environment: its defaults where nothing else is set, and
    every file named by absolute path, so the printed `export` lines work from any folder."""
    os.environ.setdefault("PUBLISHER_DEMO", "true")
    os.environ.setdefault("PUBLISHER_SCHEDULES_FILE", str(SAMPLES / "schedules.demo.yaml"))
    inbox = _inbox()
    os.environ.setdefault(
        "PUBLISHER_SOURCES", json.dumps([{"kind": "folder", "name": "inbox", "path": str(inbox)}])
    )
    inbox.mkdir(parents=True, exist_ok=True)
    config = os.environ.get(CONFIG_ENV)
    if config:
        os.environ[CONFIG_ENV] = str(Path(config).resolve())
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail(exc.problems) from None
    os.environ.update(absolute_environment(settings, Path.cwd()))


def _seed(app: App) -> None:
    now = app.clock.now()
    s = app.settings
    with (SAMPLES / "articles.jsonl").open("rb") as fh:
        records = live_articles(read_records(fh, "jsonl"), base_url=s.public_base_url)
        report = import_articles(app.engine, records, tz=s.tz, now=now - BACKDATE)
    console.print(f"articles: {report.summary()}")
    window = s.popular_window
    # Views are loaded when none is recent: a repeated demo adds nothing, a demo started
    # again days later gets a most-viewed box again. They end now (the demo's clock).
    if not most_viewed(app.engine, now=now, window=window, limit=1):
        with (SAMPLES / "views.jsonl").open("rb") as fh:
            loaded = live_views(read_records(fh, "jsonl"), now=now, tz=s.tz)
        views = import_view_counts(app.engine, loaded, tz=s.tz)
        console.print(f"views: {views.summary()}")
    subs = import_subscribers(app.engine, SAMPLES / "subscribers.csv", now=now,
                              act=act_of(app.settings, "import"))  # fmt: skip
    console.print(
        f"subscribers: added {subs.added}, updated {subs.updated}, unchanged {subs.unchanged}"
    )
    from publisher.feeds.publish import run_feeds  # feedgen and lxml: for the commands that build

    run = run_feeds(s, app.engine, now=now)
    changed = sum(1 for r in run.results if r.changed)
    console.print(f"feeds: {len(run.results)} files in {s.feeds_dir}/, {changed} changed")
    console.print("most viewed (많이 본 뉴스):")
    for r in most_viewed(app.engine, now=now, window=window, limit=5):
        console.print(f"  {r.rank}. {r.article.title} ({r.views:,} views)", highlight=False)
