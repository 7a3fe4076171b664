"""`publisher init` and `publisher check`: create the database, validate the set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.common import console, fail, open_app
from publisher.core.config import ConfigError, Settings, load_settings
from publisher.core.errors import ScheduleError
from publisher.core.schedules import Schedules
from publisher.daemon.scheduler import load_schedules


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


def check(
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip the network (the SMTP relay's greeting).")
    ] = False,
) -> None:
    """Validate settings and schedules.yaml, then open and test every resource the daemon
    will use; print every problem with its settings key, exit 2 on any."""
    problems = all_problems(network=not offline)
    if problems:
        raise fail(problems)
    console.print(
        "configuration OK" + (" (offline: the SMTP relay was not tried)" if offline else "")
    )


def all_problems(*, network: bool) -> list[str]:
    """Configuration problems; with settings that load, also every resource (preflight)."""
    problems: list[str] = []
    schedules: Schedules | None = None
    schedules_path: Path | None
    settings: Settings | None = None
    try:
        settings = load_settings()
        problems.extend(settings.problems())
        schedules_path = settings.schedules_file
    except ConfigError as exc:
        problems.extend(exc.problems)
        schedules_path = exc.schedules_file  # checked all the same: every problem at once
    if schedules_path is not None:
        try:
            schedules = load_schedules(schedules_path)
        except ScheduleError as exc:
            problems.extend(str(exc).splitlines())
    if settings is not None:
        from publisher.daemon import preflight

        problems.extend(preflight.problems(settings, schedules, network=network))
    return problems
