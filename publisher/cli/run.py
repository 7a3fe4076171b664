"""`publisher run`: the daemon."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.app import App
from publisher.cli.common import fail, open_app
from publisher.cli.core import all_problems
from publisher.core import eventloop
from publisher.core.logs import setup_logging

if TYPE_CHECKING:
    from publisher.daemon.process import Role

log = logging.getLogger("publisher")


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    role: Annotated[
        str, typer.Option("--role", help="all, web, worker (drain) or scheduler.")
    ] = "all",
    log_format: Annotated[
        str, typer.Option("--log-format", help="text (default) or json (one object a line).")
    ] = "text",
    demo: Annotated[
        bool, typer.Option("--demo", help="Demo mode: no secret needed, /dev/mail on.")
    ] = False,
) -> None:
    """Run the daemon: schedules, web server and outbox drain, until SIGTERM or Ctrl-C."""
    if role not in ("all", "web", "worker", "scheduler"):
        raise fail(f"--role: must be all, web, worker or scheduler, not {role!r}")
    if log_format not in ("text", "json"):
        raise fail(f"--log-format: must be text or json, not {log_format!r}")
    if demo:
        os.environ.setdefault("PUBLISHER_DEMO", "true")
    setup_logging("json" if log_format == "json" else "text")
    # The same preflight as `publisher check`, without the relay's greeting: a relay that is
    # down for a while must not keep the web pages down; mail waits in the outbox.
    problems = all_problems(network=False)
    if problems:
        raise fail(problems)
    with open_app() as app:
        code = eventloop.run(serve(app, role), app.settings.event_loop)  # type: ignore[arg-type]
    raise typer.Exit(code)


async def serve(app: App, role: Role) -> int:
    from publisher.daemon import gcpolicy
    from publisher.daemon.jobtable import compose

    s = app.settings
    daemon = compose(app, role)
    gcpolicy.settle()  # everything is built: keep it out of the collector's passes
    # The listeners' addresses are logged once they are bound ("web listening on …").
    log.info(
        "publisher %s (role %s, database %s, event loop %s)",
        "demo starting" if s.demo else "starting", role, _safe_url(s.database_url),
        eventloop.running(),
    )  # fmt: skip
    return await daemon.run()


def _safe_url(url: str) -> str:
    """The database URL without its password, for logs."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, cred = head.partition("://")
    return f"{scheme}://{cred.split(':')[0]}:***@{tail}" if ":" in cred else url
