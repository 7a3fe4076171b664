"""Bulk view counts from an analytics export, and the most-viewed ranking (많이 본 뉴스)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from publisher.core.errors import ParseError
from publisher.core.models import RankedArticle
from publisher.core.storable import unstorable
from publisher.core.timeparse import hour_floor, parse_rfc3339
from publisher.intake.batch import Problem
from publisher.intake.records import Record
from publisher.store import pageviews as store_pageviews
from publisher.store.types import Engine

BATCH_SIZE = 5000
MAX_COUNT = 1_000_000_000


@dataclass
class ViewImportReport:
    records: int = 0
    views: int = 0
    rejected: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"imported {self.records} records ({self.views} views), "
            f"rejected {len({p.line for p in self.rejected})}"
        )


def _parse(value: dict[str, Any], tz: tzinfo) -> tuple[str, int, datetime] | list[Problem]:
    problems: list[Problem] = []
    article_id = value.get("article_id")
    if isinstance(article_id, int) and not isinstance(article_id, bool):
        article_id = str(article_id)
    if not isinstance(article_id, str) or not article_id.strip():
        problems.append(Problem(0, "article_id", "is required (a non-empty string)"))
    elif (why := unstorable(article_id)) is not None:  # it would fail the batch's lookup
        problems.append(Problem(0, "article_id", why))
    count = value.get("count")
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COUNT:
        problems.append(Problem(0, "count", f"must be a whole number, 0-{MAX_COUNT}"))
    at = value.get("at")
    when: datetime | None = None
    if not isinstance(at, str) or not at.strip():
        problems.append(Problem(0, "at", "is required (an RFC 3339 timestamp)"))
    else:
        try:
            when = parse_rfc3339(at, tz)
        except ParseError as exc:
            problems.append(Problem(0, "at", str(exc)))
    if problems:
        return problems
    assert isinstance(article_id, str) and isinstance(count, int) and when is not None
    return article_id.strip(), count, when


def import_view_counts(
    engine: Engine,
    records: Iterable[Record],
    *,
    tz: tzinfo,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[], None] | None = None,
) -> ViewImportReport:
    """Add each record's count to its article's hourly bucket; counts add up on re-import.

    Records naming an unknown article are rejected with their line; each batch is one
    transaction.
    """
    report = ViewImportReport()
    counts: dict[tuple[str, datetime], int] = {}
    lines: dict[str, list[int]] = {}

    def flush() -> None:
        if not counts:
            return
        stored, unknown = store_pageviews.write_view_counts(engine, counts)
        for external in unknown:
            for line in lines[external]:
                report.rejected.append(Problem(line, "article_id", f"no article {external!r}"))
        report.views += stored
        report.records += sum(len(v) for k, v in lines.items() if k not in unknown)
        counts.clear()
        lines.clear()

    for record in records:
        if record.value is None:
            report.rejected.append(Problem(record.line, "", record.error or "unreadable"))
            continue
        parsed = _parse(record.value, tz)
        if isinstance(parsed, list):
            report.rejected.extend(Problem(record.line, p.field, p.reason) for p in parsed)
            continue
        article_id, count, when = parsed
        bucket = (article_id, hour_floor(when))
        counts[bucket] = counts.get(bucket, 0) + count
        lines.setdefault(article_id, []).append(record.line)
        if len(counts) >= batch_size:
            flush()
            if progress is not None:
                progress()
    flush()
    report.rejected.sort(key=lambda p: p.line)
    return report


def most_viewed(
    engine: Engine,
    *,
    now: datetime,
    window: timedelta,
    limit: int,
    section: str | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[RankedArticle]:
    """Top ``limit`` published articles by views in the whole hours inside (now - window, now].

    ``weights``: how much a view of each source counts (the setting most_viewed_sources).
    Ties break on the newer article; retracted and unknown articles never appear.
    """
    if limit <= 0:
        return []
    with engine.connect() as conn:
        return store_pageviews.top_articles(
            conn, now=now, window=window, limit=limit, section=section, weights=weights
        )
