"""`publisher digest …`: preview, test, run and history of the email digests."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from publisher.app import App
from publisher.cli.common import fail, limit_option, open_app, require_signing_key, say
from publisher.core.addresses import AddressError, normalise
from publisher.core.errors import ParseError, PublisherError, ScheduleError
from publisher.core.schedules import Schedules
from publisher.core.storable import INT4_MAX
from publisher.core.timeparse import parse_rfc3339
from publisher.digests import holds as digest_holds
from publisher.digests.feedback import run_feedback
from publisher.digests.holds import holding_of as holding
from publisher.digests.runs import RunRow, run_history

digest_app = typer.Typer(help="Preview, test, run and review email digests.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")


def _schedules(app: App, digest_id: str) -> Schedules:
    try:
        schedules = app.schedules
    except ScheduleError as exc:
        raise fail(str(exc).splitlines()) from None
    if digest_id not in {d.id for d in schedules.digests}:
        known = ", ".join(d.id for d in schedules.digests) or "none"
        raise fail(f"no digest {digest_id!r} in {app.settings.schedules_file} (known: {known})")
    return schedules


def _write_file(option: str, path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise fail(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


# 2026-11-30T07:00 (no seconds), optionally with an offset: what an operator types.
_NO_SECONDS = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2})([Zz]|[+-]\d{2}:\d{2})?$")


def _at(app: App, at: str | None) -> datetime:
    """--at: RFC 3339, or the same without seconds; without an offset, in the site timezone."""
    if at is None:
        return app.clock.now()
    m = _NO_SECONDS.match(at.strip())
    text = f"{m.group(1)}:00{m.group(2) or ''}" if m else at
    try:
        return parse_rfc3339(text, app.settings.tz)
    except ParseError as exc:
        raise fail(f"--at: {exc}") from None


def _run_at(app: App, at: str | None) -> datetime:
    """--at for `digest run`: a time that has come, never a future slot.

    A run records its window in digest_runs: run early, it would use up a slot that has not
    come (the real run then finds it done and its later articles fall into no window).
    Previews and test copies record no run, so they may look ahead.
    """
    when = _at(app, at)
    now = app.clock.now()
    if when > now:
        tz = app.settings.tz
        raise fail(
            f"--at: {when.astimezone(tz).isoformat()} is later than now "
            f"({now.astimezone(tz).isoformat(timespec='seconds')}); a run only performs a time "
            "that has come, so nothing was run or recorded (digest preview --at shows what it "
            "would send)"
        )
    return when


@digest_app.command("preview")
def preview(
    digest_id: Annotated[str, typer.Argument(metavar="ID")],
    html: Annotated[Path | None, typer.Option("--html", help="Write the inlined HTML.")] = None,
    eml: Annotated[Path | None, typer.Option("--eml", help="Write the whole message.")] = None,
    as_email: Annotated[str | None, typer.Option("--as", help="This subscriber's variant.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Pretend it is this time.")] = None,
) -> None:
    """Render what a run would send, without sending."""
    # Rendering (Jinja2, premailer) is loaded only by the commands that render.
    from publisher.digests import pipeline

    with open_app() as app:
        schedules = _schedules(app, digest_id)
        require_signing_key(app)
        try:
            pv = pipeline.preview(app.engine, app.settings, schedules, digest_id,
                                  now=_at(app, at), as_email=as_email)  # fmt: skip
        except PublisherError as exc:
            raise fail(str(exc), code=1) from None
    w = pv.window
    say(f"subject: {pv.rendered.subject}")
    say(f"window: ({w.start.isoformat()}, {w.end.isoformat()}]  due {w.due.isoformat()}")
    say(f"items: {pv.items}  most viewed: {len(pv.most_viewed)}  variants: {pv.variants}  "
        f"recipients: {pv.recipients}")  # fmt: skip
    say(f"html size: {pv.rendered.html_bytes} bytes  message: {len(pv.eml)} bytes")
    if pv.rendered.summaries_trimmed or pv.rendered.moved_to_site:
        say(f"trimmed: summaries shortened, {pv.rendered.moved_to_site} items moved to the site")
    for r in pv.most_viewed:
        say(f"  {r.rank}. {r.article.title} ({r.views})")
    for note in pv.notes:
        say(note)
    if html is not None:
        _write_file("--html", html, pv.rendered.html.encode("utf-8"))
    if eml is not None:
        _write_file("--eml", eml, pv.eml)


@digest_app.command("test")
def test(
    digest_id: Annotated[str, typer.Argument(metavar="ID")],
    to: Annotated[str, typer.Option("--to", help="Where the [TEST] copy goes.")],
    at: Annotated[str | None, typer.Option("--at", help="Pretend it is this time.")] = None,
) -> None:
    """Enqueue one "[TEST]" copy (kind test) of the all-sections variant."""
    from publisher.digests import testcopy

    try:
        address = normalise(to)
    except AddressError as exc:
        raise fail(f"--to: {exc}") from None
    with open_app() as app:
        schedules = _schedules(app, digest_id)
        try:
            # Rendered as of --at, enqueued now: a future --at must not hold the copy back.
            n = testcopy.send_test(app.engine, app.settings, schedules, digest_id, to=address,
                               now=app.clock.now(), at=_at(app, at))  # fmt: skip
        except PublisherError as exc:
            raise fail(str(exc)) from None
    say(f"enqueued {n} test message to {address}")


# A failed run is one transaction: nothing of it was written.
RUN_KEPT = "the run was rolled back: nothing was enqueued and its window is still due"


@digest_app.command("run")
def run(
    digest_id: Annotated[str, typer.Argument(metavar="ID")],
    at: Annotated[
        str | None, typer.Option("--at", help="Pretend it is this time (not later than now).")
    ] = None,
    now: Annotated[
        bool,
        typer.Option("--now", help="Send now: a manual run whose window ends now (or at --at)."),
    ] = False,
) -> None:
    """Perform the run due now (idempotent per window) and print what it enqueued."""
    from publisher.digests import pipeline

    with open_app(kept=RUN_KEPT) as app:
        schedules = _schedules(app, digest_id)
        when = _run_at(app, at)
        try:
            r = pipeline.run_digest(app.engine, app.settings, schedules, digest_id,
                                now=when, manual=now, queued_at=app.clock.now())  # fmt: skip
        except PublisherError as exc:
            raise fail(str(exc)) from None
    if r.window is not None:
        kind = "manual run" if now else "window"
        say(f"{kind}: ({r.window.start.isoformat()}, {r.window.end.isoformat()}]  run {r.run_id}")
    say(f"{r.status}: items {r.items}, most viewed {r.most_viewed}, variants {r.variants}, "
        f"recipients {r.recipients}, enqueued {r.enqueued}"
        + (f", nothing for {r.skipped_recipients}" if r.skipped_recipients else ""))  # fmt: skip
    if r.note:
        say(r.note)
    if r.status == "awaiting_approval":
        say(f"nothing is sent until an editor approves: publisher digest approve {r.run_id} "
            f"(or reject {r.run_id})")  # fmt: skip


@digest_app.command("history")
def history(
    digest_id: Annotated[str, typer.Argument(metavar="ID")],
    limit: Annotated[int, limit_option("At most this many runs.")] = 20,
) -> None:
    """Past runs: window, items, recipients, sent, failed."""
    with open_app() as app:
        _schedules(app, digest_id)  # a typo must not read as "no runs yet"
        history_rows = run_history(app.engine, digest_id, limit=limit)
        runs = [r for r, _c in history_rows]
        back = run_feedback(app.engine, runs)
        held = holding(app.engine, digest_id)
    counts = {r.id: c for r, c in history_rows}
    say("run\twindow start\twindow end\tstatus\titems\trecipients\tsent\tfailed\tqueued\t"
        "decided\thard bounces\tsoft bounces\tcomplaints\tcomplaint rate")  # fmt: skip
    for r in runs:
        c, f = counts[r.id], back[r.id]
        queued = sum(n for s, n in c.items() if s not in ("sent", "failed"))
        say(f"{r.id}\t{r.window_start:%Y-%m-%d %H:%M}\t{r.window_end:%Y-%m-%d %H:%M}\t"
            f"{r.status}\t{r.item_count}\t{r.recipient_count}\t{c.get('sent', 0)}\t"
            f"{c.get('failed', 0)}\t{queued}\t{_decided(r)}\t{f.hard_bounces}\t{f.soft_bounces}\t"
            f"{f.complaints}\t{f.complaint_rate:.2%}")  # fmt: skip
    if not runs:
        say(f"no runs of {digest_id} yet")
    if held is not None:
        say(f"held by {held.held_by} since {held.created_at:%Y-%m-%d %H:%M} UTC: {held.reason} "
            f"(`publisher digest resume {digest_id}` lets it run)")  # fmt: skip


@digest_app.command("hold")
def hold(
    digest_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (shown by history and skipped runs).")
    ] = "held by an operator",
) -> None:
    """Hold a digest: its runs are skipped (and say so) until `digest resume`."""
    import getpass

    try:
        who = f"operator {getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        who = "operator"
    with open_app() as app:
        _schedules(app, digest_id)
        done = digest_holds.hold(app.engine, digest_id, reason=reason, by=who, now=app.clock.now())
    say(f"held {digest_id}" if done else f"{digest_id} was already held (its first reason stays)")


@digest_app.command("resume")
def resume(digest_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Lift a hold (the complaint circuit breaker's, or an operator's): runs go again."""
    with open_app() as app:
        _schedules(app, digest_id)
        lifted = digest_holds.resume(app.engine, digest_id)
    if lifted is None:
        raise fail(f"{digest_id} is not held", 1)
    say(f"resumed {digest_id} (was held by {lifted.held_by}: {lifted.reason})")


def _decided(r: RunRow) -> str:
    """Approval, for runs that needed it: who decided and when (UTC), or the deadline."""
    if r.decided_at is not None:
        return f"{r.decided_by} {r.decided_at:%Y-%m-%d %H:%M}"
    if r.approval_deadline is not None:
        return f"awaiting until {r.approval_deadline:%Y-%m-%d %H:%M} ({r.on_deadline})"
    return ""


# --- approval (issue 15): runs of schedules with `approval: required` ---

APPROVE_KEPT = "the approval was rolled back: the run still awaits approval, nothing was enqueued"


def _who(by: str | None) -> str:
    """--by, else the operator's login name: the history says who decided."""
    import getpass

    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@digest_app.command("pending")
def pending() -> None:
    """Runs awaiting approval: run id, digest, due, deadline and what it does, recipients."""
    from publisher.digests import approval

    with open_app() as app:
        runs = approval.pending(app.engine)
    say("run\tdigest\tdue\tdeadline\ton deadline\titems\trecipients\tsubject")
    for r in runs:
        deadline = f"{r.approval_deadline:%Y-%m-%d %H:%M}" if r.approval_deadline else ""
        say(f"{r.id}\t{r.digest_id}\t{r.due_at:%Y-%m-%d %H:%M}\t{deadline}\t{r.on_deadline}\t"
            f"{r.item_count}\t{r.recipient_count}\t{r.subject}")  # fmt: skip
    if not runs:
        say("no run is awaiting approval")


@digest_app.command("approve")
def approve(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID", min=1, max=INT4_MAX)],
    by: Annotated[str | None, typer.Option("--by", help="Who approves (history).")] = None,
) -> None:
    """Approve a run awaiting approval: it is queued now, to the readers of now."""
    from publisher.digests import approval

    with open_app(kept=APPROVE_KEPT) as app:
        try:
            schedules = app.schedules
        except ScheduleError as exc:
            raise fail(str(exc).splitlines()) from None
        require_signing_key(app)
        try:
            d = approval.approve(app.engine, app.settings, schedules, run_id, by=_who(by),
                                 now=app.clock.now())  # fmt: skip
        except PublisherError as exc:
            raise fail(str(exc), code=1) from None
    say(f"approved: run {d.run_id} ({d.digest_id}) by {d.by}: enqueued {d.enqueued} "
        f"for {d.recipients} recipients")  # fmt: skip


@digest_app.command("reject")
def reject(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID", min=1, max=INT4_MAX)],
    by: Annotated[str | None, typer.Option("--by", help="Who rejects (history).")] = None,
) -> None:
    """Reject (hold) a run awaiting approval: nothing of it is ever sent."""
    from publisher.digests import approval

    with open_app() as app:
        try:
            d = approval.reject(app.engine, run_id, by=_who(by), now=app.clock.now())
        except PublisherError as exc:
            raise fail(str(exc), code=1) from None
    say(f"held: run {d.run_id} ({d.digest_id}) by {d.by}; nothing will be sent")


@digest_app.command("report")
def report(
    run_id: Annotated[
        int, typer.Argument(metavar="RUN", min=1, max=INT4_MAX, help="The run id (digest history).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """A run's clicks (human and machine apart) per article, position and section, and its
    delivery, bounces and complaints."""
    import json

    from publisher.analytics.report import run_report
    from publisher.cli.reportview import report_lines

    with open_app() as app:
        try:
            found = run_report(app.engine, run_id)
        except PublisherError as exc:
            raise fail(str(exc)) from None
    if as_json:
        say(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
        return
    for line in report_lines(found):
        say(line)
