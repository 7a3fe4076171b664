"""The `publisher` command. Each group lives in its own module; this file only wires them."""

from __future__ import annotations

import typer

from publisher.cli import alerts as alerts_cli
from publisher.cli import articles, core, deliver, digest, subscribers, suppressions, views
from publisher.cli import backup as backup_cli
from publisher.cli import demo as demo_cli
from publisher.cli import feeds as feeds_cli
from publisher.cli import inbound as inbound_cli
from publisher.cli import outbox as outbox_cli
from publisher.cli import run as run_cli
from publisher.cli import status as status_cli
from publisher.cli import users as users_cli
from publisher.cli import webhooks as webhooks_cli

app = typer.Typer(
    name="publisher",
    help="Newsletter and syndication publisher for news sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
core.register(app)
app.add_typer(articles.app, name="articles")
app.add_typer(views.app, name="views")
app.add_typer(feeds_cli.app, name="feeds")
subscribers.register(app)
digest.register(app)
deliver.register(app)
outbox_cli.register(app)
suppressions.register(app)
status_cli.register(app)
run_cli.register(app)
demo_cli.register(app)
backup_cli.register(app)
alerts_cli.register(app)
webhooks_cli.register(app)
users_cli.register(app)
inbound_cli.register(app)


def main() -> None:
    app()
