"""An upstream RSS/Atom feed: conditional GET, parse, map, de-dup, register. The only home of
feedparser (it is given bytes, never a URL, so it fetches nothing itself)."""

from __future__ import annotations

import io
from typing import Any

import feedparser

from publisher.core.config import FeedSource
from publisher.intake.records import Record
from publisher.intake.sources.base import (
    PollContext,
    PollResult,
    SourceError,
    check_status,
    register,
)
from publisher.intake.sources.entries import Entry, dedupe, entry_id, map_entry
from publisher.store.sources import SourceState, existing_ids, ids_by_url

MAX_NOTES = 3


class FeedPoller:
    kind = "feed"

    def __init__(self, config: FeedSource) -> None:
        self.name = config.name
        self.url = config.url
        self.section = config.section

    @property
    def target(self) -> str:
        return self.url

    def poll(self, state: SourceState, ctx: PollContext) -> PollResult:
        headers: dict[str, str] = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        resp = ctx.client.get(self.url, headers=headers, max_bytes=ctx.max_bytes)
        check_status(resp, self.url)
        if resp.status == 304:
            return PollResult(
                notes=["not modified"], etag=state.etag, last_modified=state.last_modified
            )
        parsed = _parse(resp.body, content_type=resp.headers.get("content-type", ""), url=resp.url)
        mapped = [
            # A plain dict: FeedParserDict would answer "updated" with "published" (and warn).
            map_entry(dict(e), n, section=self.section, now=ctx.now)
            for n, e in enumerate(parsed.get("entries") or [], start=1)
        ]
        entries, dropped = dedupe(mapped)
        self._assign_ids(entries, ctx)
        report = register((_record(e) for e in entries), ctx)
        result = PollResult(
            etag=resp.headers.get("etag"), last_modified=resp.headers.get("last-modified")
        )
        result.add(report)
        result.notes.append(f"{len(mapped)} entries")
        if dropped:
            result.notes.append(f"{dropped} duplicate(s) skipped")
        result.notes += [
            f"entry {p.line}: " + (f"{p.field}: {p.reason}" if p.field else p.reason)
            for p in report.rejected[:MAX_NOTES]
        ]
        return result

    def _assign_ids(self, entries: list[Entry], ctx: PollContext) -> None:
        """GUID first: its own id if the store has it; else an article of ours with that link."""
        wanted = {id(e): entry_id(self.name, e.key) for e in entries if e.key and e.article}
        with ctx.engine.connect() as conn:
            known = existing_ids(conn, wanted.values())
            links = [e.link for e in entries if e.link and wanted.get(id(e)) not in known]
            by_link = ids_by_url(conn, id_prefix=f"{self.name}:", urls=links)
        for e in entries:
            if e.article is None or id(e) not in wanted:
                continue
            own = wanted[id(e)]
            e.article["id"] = own if own in known else by_link.get(e.link or "", own)


def _record(e: Entry) -> Record:
    return Record(e.position, e.article) if e.article else Record(e.position, error=e.error)


def _parse(body: bytes, *, content_type: str, url: str) -> Any:
    # content-location lets feedparser resolve relative links against the feed's own URL.
    headers = {"content-type": content_type or "application/xml", "content-location": url}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.get("version") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise SourceError(f"{url}: not an RSS or Atom feed: {reason}")
    return parsed
