"""The drop folder: *.json / *.jsonl files → import → done/ or failed/ (+ NAME.errors.txt).

A file is imported before it is moved; a crash in between imports it again on the next poll,
which changes nothing (unchanged articles stay as they are).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from publisher.core.config import FolderSource
from publisher.intake.batch import ImportReport
from publisher.intake.records import FileError, detect_format, read_records
from publisher.intake.sources.base import PollContext, PollResult, SourceError, register
from publisher.store.sources import SourceState

SUFFIXES = (".json", ".jsonl")
DONE = "done"
FAILED = "failed"
ERRORS_SUFFIX = ".errors.txt"


class FolderPoller:
    kind = "folder"

    def __init__(self, config: FolderSource) -> None:
        self.name = config.name
        self.path = Path(config.path)
        self.settle = config.settle_seconds

    @property
    def target(self) -> str:
        return str(self.path)

    def ready_files(self, now: datetime) -> tuple[list[Path], int]:
        """Files to import now, oldest first, and how many are still settling."""
        if not self.path.is_dir():
            raise SourceError(f"folder not found: {self.path}")
        ready: list[tuple[float, str, Path]] = []
        waiting = 0
        try:
            entries = list(os.scandir(self.path))
        except OSError as exc:
            raise SourceError(f"cannot list {self.path}: {exc.strerror}") from None
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(SUFFIXES):
                continue
            try:
                if not entry.is_file():
                    continue
                mtime = entry.stat().st_mtime
            except OSError:
                continue  # gone since the listing (the CMS renamed or removed it)
            if now.timestamp() - mtime < self.settle:
                waiting += 1  # still being written (or just written): next poll
                continue
            ready.append((mtime, entry.name, Path(entry.path)))
        return [p for _, _, p in sorted(ready)], waiting

    def poll(self, state: SourceState, ctx: PollContext) -> PollResult:
        files, waiting = self.ready_files(ctx.now)
        result = PollResult()
        failed: list[str] = []
        for path in files:
            report, problems = _import_file(path, ctx)
            if report is not None:
                result.add(report)
            if problems:
                moved = _move(path, self.path / FAILED, ctx.now)
                _write_errors(moved.with_name(moved.name + ERRORS_SUFFIX), path.name, report,
                              problems)  # fmt: skip
                failed.append(path.name)
            else:
                _move(path, self.path / DONE, ctx.now)
        result.notes.append(f"{len(files)} file(s) read")
        if failed:
            result.notes.append(f"moved to {FAILED}/: {', '.join(failed)}")
        if waiting:
            result.notes.append(f"{waiting} file(s) settling")
        return result


def _import_file(path: Path, ctx: PollContext) -> tuple[ImportReport | None, list[str]]:
    """The import report (None if nothing could be read) and every problem, one per line."""
    try:
        with path.open("rb") as fh:
            report = register(read_records(fh, detect_format(path)), ctx)
    except FileError as exc:
        return None, [str(exc)]
    except OSError as exc:
        return None, [f"cannot read the file: {exc.strerror}"]
    return report, [str(p) for p in report.rejected]


def _move(path: Path, folder: Path, now: datetime) -> Path:
    """Move into ``folder`` without overwriting an earlier file of the same name."""
    try:
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        if target.exists():
            stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = folder / f"{path.stem}.{stamp}{path.suffix}"
            n = 1
            while target.exists():
                n += 1
                target = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
        os.replace(path, target)
    except OSError as exc:
        # Left in place it would be imported again on every poll: fail loudly instead.
        raise SourceError(f"cannot move {path.name} to {folder}: {exc.strerror}") from None
    return target


def _write_errors(
    errors_path: Path, name: str, report: ImportReport | None, problems: list[str]
) -> None:
    if report is None:
        head = f"{name}: cannot be read as a whole; nothing was imported."
    else:
        good = report.added + report.updated + report.unchanged
        rest = "the other records were imported" if good else "no record was imported"
        head = f"{name}: {report.rejected_records} record(s) rejected; {rest}."
    lines = [head, "", *problems]
    try:
        errors_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot write {errors_path}: {exc.strerror}") from None
