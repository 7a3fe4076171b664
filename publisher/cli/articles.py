"""`publisher articles …`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Import, list and retract articles.", no_args_is_help=True)
