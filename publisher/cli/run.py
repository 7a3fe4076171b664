"""`publisher run`: the daemon."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.app import App
from publisher.cli.common import fail, open_app
from publisher.cli.core import all_problems
from publisher.logs import setup_logging

if TYPE_CHECKING:
    from publisher.daemon import Role

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
        code = asyncio.run(serve(app, role))  # type: ignore[arg-type]
    raise typer.Exit(code)


async def serve(app: App, role: Role) -> int:
    # The web stack and the scheduler take a third of a second to import: only the daemon
    # pays for them, not every other command.
    from publisher.daemon import Daemon, Parts
    from publisher.runtime import Runtime
    from publisher.web.app import create_app
    from publisher.web.context import WebContext
    from publisher.web.ops import ops_router

    runtime = Runtime(app)
    s = app.settings
    web = create_app(s, clock=app.clock, context=WebContext(s, clock=app.clock, engine_=app.engine))
    parts = Parts(
        jobs=runtime.jobs,
        web_app=web,
        drain=runtime.drain_forever,
        grace=s.duration("shutdown_grace"),
        leader_poll=timedelta(seconds=s.leader_poll_seconds),
    )
    daemon = Daemon(app, parts, role=role)
    maildir = _demo_maildir(s.smtp_url) if s.demo else None
    web.include_router(
        ops_router(
            engine=app.engine,
            metrics=runtime.metrics,
            scheduler_ok=lambda: daemon.healthy,
            maildir=maildir,
        )
    )
    runtime.after_collect = lambda: daemon.scheduler.run_soon("feeds")

    def catch_up(leading: bool) -> None:
        # On taking the lead (start-up, or another instance died): feeds now, and each
        # digest once — its run key decides whether anything is actually due.
        if leading:
            daemon.scheduler.run_soon("feeds")
            for d in daemon.schedules.digests:
                daemon.scheduler.run_soon(f"digest:{d.id}")

    parts.on_leader_change.append(catch_up)
    log.info(
        "publisher %s on http://%s:%s (role %s, database %s)",
        "demo" if s.demo else "running", s.web_host, s.web_port, role, _safe_url(s.database_url),
    )  # fmt: skip
    return await daemon.run()


def _demo_maildir(smtp_url: str) -> Path | None:
    return Path(smtp_url[len("maildir://") :]) if smtp_url.startswith("maildir://") else None


def _safe_url(url: str) -> str:
    """The database URL without its password, for logs."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, cred = head.partition("://")
    return f"{scheme}://{cred.split(':')[0]}:***@{tail}" if ":" in cred else url
