"""`publisher outbox …`: what is waiting to be delivered, retries and purges."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer

from publisher.cli.common import console, fail, open_app
from publisher.core.errors import ParseError
from publisher.core.timeparse import parse_duration
from publisher.core.vocab import pick
from publisher.messages import outboxstatus
from publisher.messages.enqueue import KINDS, STATUSES, expiry_for

app = typer.Typer(help="The outbox: what is waiting to be delivered.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="outbox")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _held_line(queued: int, held: outboxstatus.Held, tz: ZoneInfo) -> str | None:
    """How the queued rows split into due now and held through the quiet hours (in the zone
    of quiet_hours, the window the operator set); None when none is held."""
    if not held.count or held.until is None:
        return None

    def local(at: datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    until = local(held.until)
    if held.earliest is not None and local(held.earliest) != until:
        until = f"{local(held.earliest)} … {until}"
    return (
        f"  of the queued: {max(0, queued - held.count)} due now, {held.count} held for quiet hours"
        f" until {until} ({tz.key})"
    )


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Counts per status and kind, the queued rows held for quiet hours and until when, the
    oldest queued, the next retry, top deferral reasons."""
    with open_app() as pub:
        found = outboxstatus.outbox_status(pub.engine, now=pub.clock.now())
        tz = ZoneInfo(pub.settings.quiet_hours_timezone)
    rows, oldest, held = found.rows, found.oldest_queued, found.held
    retry, reasons = found.next_retry, found.top_deferral_reasons
    per_status: dict[str, int] = {s: 0 for s in STATUSES}
    by_kind: dict[str, dict[str, int]] = {}
    for s, k, n in rows:
        per_status[s] = per_status.get(s, 0) + n
        by_kind.setdefault(k, {})[s] = n
    if as_json:
        doc: dict[str, Any] = dict(per_status)
        doc.update(
            queued_due=max(0, per_status["queued"] - held.count),
            held={"count": held.count, "until": _iso(held.until), "earliest": _iso(held.earliest)},
            by_kind=by_kind, oldest_queued=_iso(oldest), next_retry=_iso(retry),
            top_deferral_reasons=[{"reply": r, "count": c} for r, c in reasons],
        )  # fmt: skip
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    console.print("  ".join(f"{s}: {n}" for s, n in per_status.items()), highlight=False)
    if (line := _held_line(per_status["queued"], held, tz)) is not None:
        console.print(line, highlight=False, markup=False)
    for kind, counts in sorted(by_kind.items()):
        line = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
        console.print(f"  {kind}: {line}", highlight=False, markup=False)
    console.print(f"oldest queued: {_iso(oldest) or '-'}   next retry: {_iso(retry) or '-'}")
    for reply, count in reasons:
        console.print(f"  {count:>6}  {reply}", highlight=False, markup=False)


@app.command("retry")
def retry(
    failed: bool = typer.Option(False, "--failed", help="Queue failed rows again (required)."),
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {', '.join(KINDS)}."),
) -> None:
    """Put failed messages back in the queue, with a fresh expiry."""
    if not failed:
        raise fail("--failed: required (only failed rows can be retried)")
    chosen = pick(kind, KINDS)
    if kind is not None and chosen is None:
        raise fail(f"--kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    with open_app() as pub:
        now = pub.clock.now()
        expires: dict[str, datetime] = {k: now + expiry_for(pub.settings, k) for k in KINDS}
        n = outboxstatus.requeue_failed(pub.engine, kind=chosen, now=now, expires_at=expires)
    console.print(f"{n} failed message(s) queued again")


@app.command("purge")
def purge(
    older_than: str = typer.Option(..., "--older-than", help="e.g. 30d: finished rows older."),
) -> None:
    """Delete finished rows (sent, failed, suppressed, expired) and unused contents."""
    try:
        age = parse_duration(older_than)
    except ParseError as exc:
        raise fail(f"--older-than: {exc}") from None
    with open_app() as pub:
        try:
            before = pub.clock.now() - age
        except OverflowError:
            raise fail(f"--older-than: {older_than} reaches before the year 1") from None
        rows, contents = outboxstatus.purge(pub.engine, before=before)
    console.print(f"purged {rows} row(s) and {contents} unused content(s)")
