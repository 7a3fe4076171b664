"""`publisher users …` (console operators) and `publisher audit export`."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer

from publisher.app import App
from publisher.cli.common import fail, open_app, say
from publisher.core.errors import InputError
from publisher.core.timeparse import parse_rfc3339
from publisher.staff import accounts, audit

users_app = typer.Typer(help="Console operators: invite, list, remove.", no_args_is_help=True)
audit_app = typer.Typer(help="The console's audit log.", no_args_is_help=True)
CONSOLE = "/admin"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")


def invite_link(app: App, email: str, role: str) -> tuple[str, accounts.Invitation]:
    """Add (or re-invite) an operator; their one-time sign-in link. Audited as "cli"."""
    now = app.clock.now()
    valid = timedelta(hours=app.settings.console_invite_hours)
    inv = accounts.invite(app.engine, email, role=role, now=now, valid=valid)
    audit.record(app.engine, at=now, actor="cli", action="user.invite", target=inv.email,
                 detail={"role": inv.role})  # fmt: skip
    base = app.settings.public_base_url.rstrip("/")
    return f"{base}{CONSOLE}/welcome/{inv.token}", inv


@users_app.command("add")
def add(
    email: str,
    role: Annotated[str, typer.Option(help="admin, editor or viewer.")] = "viewer",
) -> None:
    """Add an operator (or give one a new role) and print a one-time sign-in link."""
    with open_app() as app:
        try:
            link, inv = invite_link(app, email, role)
        except InputError as exc:
            raise fail(str(exc)) from None
        tz = app.settings.tz
    say(f"{'added' if inv.new else 'updated'} {inv.email} ({inv.role})")
    say(f"sign-in link (once, until {inv.expires_at.astimezone(tz):%Y-%m-%d %H:%M %Z}):")
    say(link)


@users_app.command("list")
def list_() -> None:
    """Operators: address, role, last sign-in, whether a password is set."""
    with open_app() as app:
        rows = accounts.list_users(app.engine)
    say("email\trole\tlast sign-in\tpassword")
    for u in rows:
        last = u.last_signin_at.isoformat(timespec="seconds") if u.last_signin_at else "-"
        say(f"{u.email}\t{u.role}\t{last}\t{'set' if u.password_hash else 'invited'}")


@users_app.command("remove")
def remove(email: str) -> None:
    """Remove an operator; their sessions end at once."""
    with open_app() as app:
        try:
            removed = accounts.remove(app.engine, email)
        except InputError as exc:
            raise fail(str(exc)) from None
        if not removed:
            raise fail(f"no operator {email}", code=1)
        audit.record(app.engine, at=app.clock.now(), actor="cli", action="user.remove",
                     target=email)  # fmt: skip
    say(f"removed {email}")


@audit_app.command("export")
def export(
    since: Annotated[str | None, typer.Option(help="Only entries from this time.")] = None,
) -> None:
    """Print the audit log as JSON Lines, oldest first."""
    with open_app() as app:
        start = None
        if since is not None:
            try:
                start = parse_rfc3339(since, app.settings.tz)
            except ValueError as exc:
                raise fail(f"--since: {exc}") from None
        for line in audit.export_lines(app.engine, since=start):
            sys.stdout.write(line)
