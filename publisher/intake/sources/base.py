"""What every source kind shares: the protocol, the poll context and result, registering."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Protocol

from publisher.core.errors import PublisherError
from publisher.core.httpclient import HttpResponse
from publisher.intake.batch import ImportReport, import_articles
from publisher.intake.records import Record
from publisher.store.sources import SourceState
from publisher.store.types import Engine


class SourceError(PublisherError):
    """The poll failed as a whole; the source keeps its state and is retried with backoff."""


class Fetcher(Protocol):
    """The part of publisher.core.httpclient.HttpClient that sources use."""

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int = ...
    ) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class PollContext:
    engine: Engine
    tz: tzinfo
    now: datetime
    client: Fetcher
    max_bytes: int
    # Every record passes through it before validation (None: as read). The demo's: sample
    # images moved onto the demo's own address (publisher.intake.demodata.intake_adapter).
    adapt: Callable[[Iterable[Record]], Iterable[Record]] | None = None


@dataclass
class PollResult:
    """Counts of one successful poll and the state to remember (None: keep the old value)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    notes: list[str] = field(default_factory=list)  # shown in status: what was rejected, …
    etag: str | None = None
    last_modified: str | None = None
    since_cursor: str | None = None

    def add(self, report: ImportReport) -> None:
        self.added += report.added
        self.updated += report.updated
        self.unchanged += report.unchanged
        self.rejected += report.rejected_records

    def summary(self) -> str:
        text = (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rejected {self.rejected}"
        )
        return "; ".join([text, *self.notes])


class Source(Protocol):
    name: str
    kind: str

    @property
    def target(self) -> str:
        """The folder or URL, as configured (a change resets the stored state)."""
        ...

    def poll(self, state: SourceState, ctx: PollContext) -> PollResult: ...


def register(records: Iterable[Record], ctx: PollContext) -> ImportReport:
    """Validate (publisher.intake.validate) and upsert, exactly as `articles import` does."""
    if ctx.adapt is not None:
        records = ctx.adapt(records)
    return import_articles(ctx.engine, records, tz=ctx.tz, now=ctx.now)


def check_status(resp: HttpResponse, url: str) -> None:
    if resp.status != 200 and resp.status != 304:
        raise SourceError(f"HTTP {resp.status} from {url}")
