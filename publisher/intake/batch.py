"""The article import pipeline: records → prepare (validate) → dedupe → batched upsert → report.

Each batch is one transaction, so an import that dies half-way leaves whole articles only.
A record that fails validation is reported and skipped; it never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from publisher.intake.records import Item
from publisher.intake.workers import prepare_parallel
from publisher.store.articles import ArticleRow, Outcome, write_rows
from publisher.store.events import article_written
from publisher.store.types import Engine

BATCH_SIZE = 1000
_RANK: dict[Outcome, int] = {"unchanged": 0, "updated": 1, "added": 2}


@dataclass(frozen=True, slots=True)
class Problem:
    """A rejected record or a warning: where, which field ("" for the whole record), why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: "
        return where + (f"{self.field}: {self.reason}" if self.field else self.reason)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def rejected_records(self) -> int:
        """Records rejected (a record with two bad fields is one record, two problems)."""
        return len({p.line for p in self.rejected})

    def summary(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rejected {self.rejected_records}"
        )


class _Run:
    def __init__(self, engine: Engine, now: datetime, report: ImportReport) -> None:
        self.engine = engine
        self.now = now
        self.report = report
        self.pending: dict[str, tuple[int, ArticleRow]] = {}
        self.first_line: dict[str, int] = {}
        # The strongest outcome per id: a duplicate that was first added stays "added".
        self.outcomes: dict[str, Outcome] = {}

    def take(self, line: int, row: ArticleRow) -> None:
        key = row.external_id
        earlier = self.first_line.setdefault(key, line)
        if earlier != line:
            self.report.warnings.append(
                Problem(line, "id", f"duplicate of line {earlier} ({key}); the later one wins")
            )
            self.pending.pop(key, None)  # keep file order: the later one goes at the end
        self.pending[key] = (line, row)

    def flush(self) -> None:
        if not self.pending:
            return
        items = list(self.pending.values())
        self.pending.clear()
        results = write_rows(
            self.engine, [row for _, row in items], now=self.now, after=article_written
        )
        for (line, row), result in zip(items, results, strict=True):
            key = row.external_id
            if result not in _RANK:
                self.report.rejected.append(Problem(line, "", result))
                continue
            before = self.outcomes.get(key)
            if before is None or _RANK[result] > _RANK[before]:
                self.outcomes[key] = result


def import_articles(
    engine: Engine,
    records: Iterable[Item],
    *,
    tz: tzinfo,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    workers: int = 0,
    progress: Callable[[], None] | None = None,
) -> ImportReport:
    """Validate and upsert every record; duplicates inside the input: the last one wins.

    With ``workers`` ≥ 1, records are decoded and validated in that many processes.
    """
    report = ImportReport()
    run = _Run(engine, now, report)
    for line, result in prepare_parallel(records, tz, workers=workers):
        if isinstance(result, list):
            report.rejected.extend(Problem(line, e.field, e.reason) for e in result)
            continue
        run.take(line, result)
        if len(run.pending) >= batch_size:
            run.flush()
            if progress is not None:
                progress()
    run.flush()
    for outcome in run.outcomes.values():
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.rejected.sort(key=lambda p: p.line)
    return report
