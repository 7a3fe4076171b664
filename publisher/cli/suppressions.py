"""`publisher suppressions list|add|remove|import`: addresses never mailed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from publisher.cli.common import console, fail, open_app
from publisher.core.addresses import canonical
from publisher.core.storable import unstorable
from publisher.intake.records import NotUtf8, check_utf8
from publisher.readers import suppressions

app = typer.Typer(help="Addresses that are never mailed.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="suppressions")


# No NUL either: PostgreSQL refuses it in the whole import's transaction (SQLite stores it).
_ADDR = re.compile(r"^[^@\s<>\"\0]+@[^@\s<>\"\0]+\.[^@\s<>\"\0]+$")
MAX_REASON = 32  # suppressions.reason is String(32)
MAX_ADDRESS = 320  # suppressions.email is String(320): PostgreSQL refuses a longer one


def _problem(value: str) -> str | None:
    """Why ``value`` cannot be suppressed, or None. The length is the stored (canonical)
    form's: lower-casing can lengthen a few letters ("İ" → "i̇")."""
    if not _ADDR.match(value) or unstorable(value):
        return "not an email address"
    if len(canonical(value)) > MAX_ADDRESS:
        return f"longer than {MAX_ADDRESS} characters"
    return None


def _reason(value: str | None) -> str | None:
    """--reason: a word of at most 32 characters (what the column holds on PostgreSQL), text
    either store can hold (an undecodable byte on the command line is a lone surrogate)."""
    if value is not None and (not value.strip() or len(value) > MAX_REASON or unstorable(value)):
        raise typer.BadParameter(f"1 to {MAX_REASON} characters of text, got {len(value)}")
    return value


def _check(addresses: list[str], where: str = "EMAIL") -> list[str]:
    bad = [(a, why) for a in addresses if (why := _problem(a.strip())) is not None]
    if bad:
        raise fail([f"{where}: {why}: {a[:80]!r}" for a, why in bad], 1)
    return [a.strip() for a in addresses]


def _read_lines(path: Path) -> list[str]:
    try:
        check_utf8(path)
        return path.read_text("utf-8-sig").splitlines()  # -sig: a spreadsheet's BOM is not data
    except NotUtf8 as exc:
        raise fail(f"{path}:{exc.line}: {exc.detail}; nothing was imported") from None
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None


@app.command("list")
def list_(
    reason: str | None = typer.Option(None, "--reason", help="Only this reason."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every suppressed address with its reason."""
    with open_app() as pub:
        found = suppressions.list_suppressions(pub.engine, reason=reason)
    if as_json:
        typer.echo(json.dumps([
            {"email": s.email, "scope": s.scope, "reason": s.reason, "detail": s.detail,
             "created_at": s.created_at.isoformat()}
            for s in found
        ], ensure_ascii=False, indent=2))  # fmt: skip
        return
    for s in found:
        console.print(f"{s.email}\t{s.scope}\t{s.reason}\t{s.created_at:%Y-%m-%d}",
                      highlight=False, markup=False)  # fmt: skip
    console.print(f"{len(found)} suppressed")


@app.command("add")
def add(
    emails: list[str] = typer.Argument(..., help="Addresses to suppress."),
    reason: str = typer.Option("manual", "--reason", callback=_reason),
) -> None:
    """Never mail these addresses again (until removed)."""
    checked = _check(emails)
    with open_app() as pub:
        n = suppressions.suppress(pub.engine, checked, reason=reason, now=pub.clock.now())
    console.print(f"{n} added, {len(checked) - n} already suppressed")


@app.command("remove")
def remove(email: str = typer.Argument(..., help="Address to allow again.")) -> None:
    """Take an address off the list."""
    with open_app() as pub:
        found = suppressions.unsuppress_one(pub.engine, email)
    if not found:
        raise fail(f"EMAIL: {email} is not suppressed", 1)
    console.print(f"{email} removed", markup=False)


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="One address per line (or CSV, address first)."),
    reason: str = typer.Option("imported", "--reason", callback=_reason),
) -> None:
    """Import a list; any bad line rejects the whole file (nothing is written)."""
    lines = _read_lines(path)
    addresses: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        value = line.split(",")[0].strip().strip('"')
        if not value or value.startswith("#") or value.lower() == "email":
            continue
        if (why := _problem(value)) is None:
            addresses.append(value)
        else:
            problems.append(f"{path}:{number}: {why}: {value[:80]!r}")
    if problems:
        raise fail(problems, 1)
    with open_app() as pub:
        n = suppressions.suppress(pub.engine, addresses, reason=reason, now=pub.clock.now())
    console.print(f"{n} added, {len(addresses) - n} already suppressed")
