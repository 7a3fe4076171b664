"""`publisher webhooks status|enable`: the signed event endpoints (issue 17)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from publisher.cli.common import console, fail, open_app
from publisher.syndication import webhooks

app = typer.Typer(help="Signed webhook endpoints (events out).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="webhooks")


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Per configured endpoint: pending and delivered events, failing since, disabled."""
    with open_app() as pub:
        states = webhooks.status(pub.settings, pub.engine)
    if as_json:
        rows = [
            {
                "name": s.name, "pending": s.pending, "delivered": s.delivered,
                "failures": s.failures,
                "failing_since": s.failing_since.isoformat() if s.failing_since else None,
                "disabled_at": s.disabled_at.isoformat() if s.disabled_at else None,
                "last_error": s.last_error,
            }
            for s in states
        ]  # fmt: skip
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not states:
        console.print("no webhook endpoints configured (setting `webhooks`)")
        return
    table = Table(
        "endpoint", "pending", "delivered", "failed in a row", "failing since", "disabled",
        "last error",
    )  # fmt: skip
    for s in states:
        table.add_row(
            s.name, str(s.pending), str(s.delivered), str(s.failures),
            s.failing_since.isoformat() if s.failing_since else "-",
            s.disabled_at.isoformat() if s.disabled_at else "no",
            s.last_error or "-",
        )  # fmt: skip
    console.print(table)


@app.command("enable")
def enable(name: str = typer.Argument(..., help="The endpoint's name in `webhooks`.")) -> None:
    """Resume a disabled endpoint: its pending events are sent at the next run."""
    with open_app() as pub:
        if not webhooks.enable(pub.settings, pub.engine, name, now=pub.clock.now()):
            known = ", ".join(w.name for w in pub.settings.webhooks) or "none configured"
            raise fail(f"webhooks: no endpoint named {name!r} ({known})")
    console.print(f"webhook {name} enabled; pending events go out at the next run")
