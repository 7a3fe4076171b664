"""`publisher views …`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Page views and the most-viewed ranking.", no_args_is_help=True)
