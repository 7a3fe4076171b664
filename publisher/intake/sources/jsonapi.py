"""An HTTP JSON endpoint answering an array of article objects (the import format).

The request carries ``?<since_param>=<cursor>``: the newest ``updated_at`` (else
``published_at``) among the articles accepted so far, in RFC 3339 UTC. The endpoint should
answer the articles updated at or after it; the ones sent again count as unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from publisher.core.config import JsonSource
from publisher.core.timeparse import parse_rfc3339
from publisher.intake.records import FileError, Record, read_records
from publisher.intake.sanitise import strip_illegal
from publisher.intake.sources.base import (
    PollContext,
    PollResult,
    SourceError,
    check_status,
    register,
)
from publisher.store.sources import SourceState

MAX_NOTES = 3


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))


def format_cursor(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class JsonPoller:
    kind = "json"

    def __init__(self, config: JsonSource) -> None:
        self.name = config.name
        self.url = config.url
        self.since_param = config.since_param

    @property
    def target(self) -> str:
        return self.url

    def poll(self, state: SourceState, ctx: PollContext) -> PollResult:
        url = self.url
        if state.since_cursor:
            url = with_param(url, self.since_param, state.since_cursor)
        resp = ctx.client.get(url, headers={"Accept": "application/json"}, max_bytes=ctx.max_bytes)
        check_status(resp, url)
        if resp.status == 304:
            return PollResult(notes=["not modified"], since_cursor=state.since_cursor)
        try:
            # Numbered by position in the array (a body is often one line).
            records = [
                Record(n, r.value, r.error)
                for n, r in enumerate(read_records(io.BytesIO(resp.body), "json"), start=1)
            ]
        except FileError as exc:
            raise SourceError(f"{url}: expected a JSON array of article objects: {exc}") from None
        report = register(records, ctx)
        rejected = {p.line for p in report.rejected}
        newest = _newest((r for r in records if r.line not in rejected), ctx.tz)
        cursor = state.since_cursor
        if newest is not None and (cursor is None or newest > parse_rfc3339(cursor, UTC)):
            cursor = format_cursor(newest)
        result = PollResult(since_cursor=cursor)
        result.add(report)
        result.notes.append(f"{len(records)} records")
        result.notes += [
            f"record {p.line}: " + (f"{p.field}: {p.reason}" if p.field else p.reason)
            for p in report.rejected[:MAX_NOTES]
        ]
        return result


def _newest(records: Iterator[Record], tz: tzinfo) -> datetime | None:
    """The newest update time among accepted records (intake has already checked the dates)."""
    newest: datetime | None = None
    for r in records:
        for name in ("updated_at", "published_at"):
            raw = (r.value or {}).get(name)
            # Cleaned as validate cleaned it (a NUL, a lone surrogate): the raw text was a
            # ParseError that failed the poll after its articles were written.
            text = strip_illegal(raw).strip() if isinstance(raw, str) else ""
            if text:
                at = parse_rfc3339(text, tz)
                newest = at if newest is None or at > newest else newest
    return newest
