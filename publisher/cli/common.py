"""What every command shares: loading settings, opening the app, reporting fatal errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from publisher.app import App
from publisher.core.config import ConfigError, load_settings
from publisher.core.errors import PublisherError
from publisher.core.storable import INT4_MAX
from publisher.store.db import StoreError, failure_line

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def fail(lines: list[str] | str, code: int = 2) -> typer.Exit:
    for line in [lines] if isinstance(lines, str) else lines:
        # Messages quote user and config text ("pattern '^[a-z0-9]…'"): never parse them as markup.
        err_console.print(Text.assemble(("error:", "red"), f" {line}"), highlight=False)
    return typer.Exit(code)


def limit_option(help: str) -> Any:
    """Every --limit: a count from 1 to 2**31-1, a usage error past it. It ends in a LIMIT,
    which PostgreSQL refuses past 64 bits ("bigint out of range") and SQLite's driver too
    (OverflowError): a database error or a traceback instead of a word on the option."""
    return typer.Option(min=1, max=INT4_MAX, help=help)


# What a failed command kept, unless the command says more precisely.
KEPT = "its transaction was rolled back; what was saved before it is kept"


@contextmanager
def open_app(*, migrate: bool = True, kept: str = KEPT) -> Iterator[App]:
    """Settings + store, ready to use; config and store problems exit 2 with their key.

    A database or file-system error in the command (a full disk, a lost server) ends it with
    one line saying what failed and what state was kept (``kept``), never a traceback:
    tracebacks of SQL errors would print readers' addresses and tokens.
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail(exc.problems) from None
    app = App(settings=settings)
    try:
        if migrate:
            app.migrate()
        yield app
    except StoreError as exc:
        raise fail(str(exc)) from None
    except BrokenPipeError:  # `publisher … | head`: the reader has all it wanted
        # Python would flush stdout again at exit and complain; point it at nothing first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}; {kept}", code=1) from None
    except Exception as exc:
        line = failure_line(exc)
        if line is None:
            raise
        raise fail(f"{line}; {kept}", code=1) from None
    finally:
        app.close()


def say(text: str) -> None:
    typer.echo(text)  # plain: tab-separated output stays machine-readable


def require_signing_key(app: App) -> None:
    """Previews, test sends and runs all sign links: without a key they cannot start (exit 2)."""
    # The same check `digest run` meets inside pipeline.run_digest.
    from publisher.messages import fanout

    try:
        fanout.Identity.from_settings(app.settings)
    except PublisherError as exc:  # secret_key missing (InputError), a bad from_address
        raise fail(str(exc)) from None
