"""`publisher backup PATH` and `publisher restore PATH`: the whole store, in one file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.common import fail, open_app, say
from publisher.store import backup as store_backup


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)


def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (replaced if present).")],
) -> None:
    """Copy the database to PATH while the daemon runs (SQLite backup API, or pg_dump)."""
    with open_app(migrate=False, kept="the database was not changed") as app:
        if path.is_dir():
            raise fail(f"{path}: is a folder; give the backup file's name")
        info = store_backup.backup(app.settings.database_url, path)
    say(f"backed up the {info.backend} database to {info.path} ({info.bytes} bytes)")


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `publisher backup`.")],
) -> None:
    """Restore PATH into the configured database, which must be empty; then migrate it."""
    with open_app(migrate=False, kept="the database was not changed") as app:
        store_backup.restore(app.settings.database_url, app.engine, path)
        before, after = app.migrate()
    say(f"restored {path} (schema {before} → {after})")
