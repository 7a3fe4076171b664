"""Top-level commands: init, check, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from publisher.cli.common import console, fail, open_app
from publisher.config import ConfigError, load_settings
from publisher.schedules import load_schedules


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("check")(check)


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
    problems = config_problems()
    if problems:
        raise fail(problems)
    console.print("configuration OK")


def config_problems() -> list[str]:
    """Every problem with the settings and schedules.yaml, each with its key path."""
    problems: list[str] = []
    schedules_path: Path | None
    try:
        settings = load_settings()
        problems.extend(settings.problems())
        schedules_path = settings.schedules_file
    except ConfigError as exc:
        problems.extend(exc.problems)
        schedules_path = exc.schedules_file  # checked all the same: every problem at once
    if schedules_path is not None:
        try:
            load_schedules(schedules_path)
        except ValueError as exc:
            problems.extend(str(exc).splitlines())
    return problems
