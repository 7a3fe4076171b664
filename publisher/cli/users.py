"""`publisher users …` (console operators) and `publisher audit export`."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, tzinfo
from typing import Annotated

import typer

from publisher.app import App
from publisher.cli.common import fail, open_app, say
from publisher.core.errors import InputError, ParseError
from publisher.core.timeparse import parse_duration, parse_rfc3339
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


# What --since takes; the help and every refusal name the same forms.
SINCE_FORMS = (
    "a date (2026-11-01: from midnight in the site timezone), a date and time "
    "(2026-11-01T09:00 or 2026-11-01 09:00:00 in the site timezone, or with an offset: "
    "2026-11-01T00:00:00Z, 2026-11-01T09:00+09:00) or a time back from now (30m, 24h, 7d)"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_NO_SECONDS = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2})([Zz]|[+-]\d{2}:\d{2})?$", re.ASCII)
_AGO = re.compile(r"^\d+\s*[smhdw]$", re.ASCII)


def parse_since(text: str, tz: tzinfo, now: datetime) -> datetime:
    """--since as an operator types it (``SINCE_FORMS``); ParseError says what is wrong."""
    value = text.strip()
    if not value:
        raise ParseError("empty")
    if _AGO.match(value):
        try:
            return now - parse_duration(value)
        except ParseError as exc:
            raise ParseError(str(exc).partition(":")[0]) from None
        except OverflowError:  # before the year 1
            raise ParseError("too far back") from None
    if _DATE.match(value):
        return parse_rfc3339(f"{value}T00:00:00", tz)
    m = _NO_SECONDS.match(value)
    if m:
        value = f"{m.group(1)}:00{m.group(2) or ''}"
    elif not value[:1].isdigit() or "-" not in value:
        raise ParseError("not a date, a date and time, or a time back from now")
    try:
        return parse_rfc3339(value, tz)
    except ParseError as exc:
        if str(exc).startswith("not an RFC 3339"):
            raise ParseError("not a date, a date and time, or a time back from now") from None
        raise


def _since(app: App, since: str) -> datetime:
    """The start of the export, or one line naming the accepted forms (exit 2)."""
    now = app.clock.now()
    try:
        start = parse_since(since, app.settings.tz, now)
    except ParseError as exc:
        where = f"the site timezone is {app.settings.timezone}"
        raise fail(f"--since {since!r}: {exc}. Use {SINCE_FORMS}; {where}") from None
    if start > now:
        local = now.astimezone(app.settings.tz)
        raise fail(
            f"--since {since!r}: that is in the future (now {local:%Y-%m-%d %H:%M %Z}), so no "
            "entry could match; give a past date or time"
        )
    return start


@audit_app.command("export")
def export(
    since: Annotated[
        str | None,
        typer.Option(metavar="TIME", help=f"Only entries at or after TIME: {SINCE_FORMS}."),
    ] = None,
) -> None:
    """Print the audit log as JSON Lines, oldest first."""
    with open_app() as app:
        start = None if since is None else _since(app, since)
        n = 0
        for line in audit.export_lines(app.engine, since=start):
            sys.stdout.write(line)
            n += 1
        if not n:  # said on stderr: stdout stays JSON Lines (none) for whoever reads it
            typer.echo(_nothing(start, app.settings.tz), err=True)


def _nothing(start: datetime | None, tz: tzinfo) -> str:
    if start is None:
        return "the audit log is empty"
    return f"no audit log entries since {start.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}"
