"""`publisher alerts …`: breaking-news alerts (속보): preview, send, history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.common import fail, limit_option, open_app, require_signing_key, say
from publisher.core.errors import PublisherError

alerts_app = typer.Typer(help="Breaking-news alerts (속보) to readers who opted in.",
                         no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("preview")
def preview(
    article_id: Annotated[str, typer.Argument(metavar="ARTICLE_ID")],
    html: Annotated[Path | None, typer.Option("--html", help="Write the inlined HTML.")] = None,
    eml: Annotated[Path | None, typer.Option("--eml", help="Write the whole message.")] = None,
) -> None:
    """Show the alert email of an article and how many readers it would reach; sends nothing."""
    from publisher.alerts import send

    with open_app() as app:
        require_signing_key(app)
        try:
            pv = send.preview(app.engine, app.settings, article_id, now=app.clock.now())
        except PublisherError as exc:
            raise fail(str(exc), code=1) from None
    say(f"subject: {pv.rendered.subject}")
    say(f"recipients: {pv.recipients} (readers who opted in to alerts)")
    say(f"today: {pv.sent_today} of {pv.per_day} alerts sent")
    say(f"html size: {pv.rendered.html_bytes} bytes  message: {len(pv.eml)} bytes")
    for option, path, data in (("--html", html, pv.rendered.html.encode()), ("--eml", eml, pv.eml)):
        if path is not None:
            try:
                path.write_bytes(data)
            except OSError as exc:
                raise fail(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
    if html is None and eml is None:
        say("")
        say(pv.rendered.text)


@alerts_app.command("send")
def send_cmd(
    article_id: Annotated[str, typer.Argument(metavar="ARTICLE_ID")],
    by: Annotated[str | None, typer.Option("--by", help="Who sends (history).")] = None,
) -> None:
    """Send the article's alert now: once per article, at most alerts_per_day a day."""
    from publisher.alerts import send

    with open_app() as app:
        require_signing_key(app)
        try:
            sent = send.send(app.engine, app.settings, article_id, by=by or "cli",
                             now=app.clock.now())  # fmt: skip
        except PublisherError as exc:
            raise fail(str(exc), code=1) from None
    say(f"alert {sent.alert_id}: {sent.subject}")
    say(f"enqueued {sent.enqueued} for {sent.recipients} readers (alert {sent.slot} today)")


@alerts_app.command("history")
def history(
    limit: Annotated[int, limit_option("At most this many alerts.")] = 20,
) -> None:
    """Alerts, newest first, tab-separated: id, time (UTC), day, status, slot, article,
    recipients, sent, queued, clicks (people), machine clicks, who, subject."""
    from publisher.alerts import send

    with open_app() as app:
        rows = send.history_with_counts(app.engine, limit=limit)
    say("alert\ttime\tday\tstatus\tslot\tarticle\trecipients\tsent\tqueued\tclicks\t"
        "machine clicks\tby\tsubject")  # fmt: skip
    for a, c, clicks in rows:
        queued = sum(n for s, n in c.items() if s not in ("sent", "failed", "expired"))
        say(f"{a.id}\t{a.created_at:%Y-%m-%d %H:%M}\t{a.local_day}\t{a.status}\t{a.slot or ''}\t"
            f"{a.article_id}\t{a.recipient_count}\t{c.get('sent', 0)}\t{queued}\t"
            f"{clicks['human']}\t{clicks['machine']}\t{a.requested_by}\t{a.subject}")  # fmt: skip
    if not rows:
        say("no alerts yet")
