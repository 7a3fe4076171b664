"""`publisher subscribers import --from TOOL` and `--dry-run`: another tool's export, as is."""

from __future__ import annotations

from pathlib import Path

from publisher.cli.common import fail, open_app, require_signing_key, say
from publisher.consent.record import act_of
from publisher.core.errors import InputError
from publisher.core.vocab import ImportSource
from publisher.intake.records import NotUtf8, is_blank
from publisher.readers import moving
from publisher.readers import subscribers as use
from publisher.readers.importformats import FormatError, recognise

# One transaction: a failure leaves the database as it was.
MOVE_KEPT = "nothing was imported (the import is one transaction)"


def _dry_run_csv(file: Path) -> None:
    """Our own format: what each status would become, and the rows that would be rejected."""
    counts: dict[str, int] = {}
    rejected = 0
    for line, rec in use.read_records(file):
        row = rec if isinstance(rec, use.RowError) else use.validate(line, rec)
        if isinstance(row, use.RowError):
            rejected += 1
            say(f"would reject {file}:{row}")
            continue
        counts[row.status] = counts.get(row.status, 0) + 1
    if not counts and not rejected:
        say(no_rows(file, dry_run=True))
        return
    for status, n in sorted(counts.items()):
        say(f"would import {n} {status}")
    say(f"would reject {rejected}; nothing was written (--dry-run)")


def no_rows(file: Path, *, dry_run: bool) -> str:
    """A file with nothing to import: what it holds, and that nothing was done."""
    held = "a header line but no subscriber rows" if file.suffix.lower() == ".csv" else "no records"
    done = "nothing was written (--dry-run)" if dry_run else "nothing was imported"
    return f"no rows to import: {file} has {held}; {done}"


def refuse_blank(file: Path) -> None:
    """An empty .csv (a failed or cut-off export, most likely) is refused in plain words,
    rather than as a header without an email column. A .jsonl has no header: an empty one
    simply has no rows (see ``no_rows``)."""
    if file.suffix.lower() != ".csv":
        return
    try:
        blank = is_blank(file)
    except OSError:
        return  # the import reports it with its own message
    if blank:
        raise fail(
            f"{file} is empty (not even a header line); nothing was imported. A CSV import "
            "starts with a header line naming its columns, then one row per subscriber",
            code=1,
        )


def refuse_other_tools(file: Path) -> None:
    """A file without --from that is another tool's export: say which --from reads it, rather
    than rejecting every row of it."""
    if file.suffix.lower() != ".csv":
        return
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            tool = recognise(fh)
    except (OSError, UnicodeDecodeError):
        return  # the import reports these with its own messages
    if tool is not None:
        raise fail(f"{file}: this is a {tool} export; import it as it is with --from {tool}")


def import_from(file: Path, tool: ImportSource, *, send_confirmation: bool, dry_run: bool) -> None:
    try:
        if dry_run:
            if tool == "csv":
                _dry_run_csv(file)
                return
            checked = moving.check(file, tool)
            if not checked.rows:
                say(no_rows(file, dry_run=True))
                return
            for line in checked.lines():
                say(f"would import {line}")
            say("nothing was written (--dry-run)")
            return
        _move(file, tool, send_confirmation=send_confirmation)
    except FormatError as exc:
        raise fail(f"{file}:{exc}; nothing was imported", code=1) from None
    except NotUtf8 as exc:
        raise fail(f"{file}:{exc}; nothing was imported") from None
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise fail(str(exc)) from None


def _move(file: Path, tool: ImportSource, *, send_confirmation: bool) -> None:
    from publisher.cli.subscribers import say_pending

    with open_app(kept=MOVE_KEPT) as app:
        if send_confirmation:
            require_signing_key(app)
        report = moving.move_in(app.engine, file, tool, now=app.clock.now(),
                                act=act_of(app.settings, "import"))  # fmt: skip
        asked = None
        if send_confirmation and report.pending:
            asked = use.ask_to_confirm(app.engine, app.settings, report.pending,
                                       now=app.clock.now())  # fmt: skip
    if not report.rows:
        say(no_rows(file, dry_run=False))
        return
    for line in report.lines():
        say(f"imported {line}")
    say_pending(len(report.pending), asked)
