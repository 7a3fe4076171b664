"""Page-view hits: ignore bots, collapse repeats, buffer per (article, hour), flush in batches.

The HTTP layer calls ``ViewRecorder.record_hit`` once per page view. Most calls touch only
memory: counts pile up per (article, hour) and ``flush`` writes them in one transaction.
record_hit flushes by itself when ``max_buffered`` hits are waiting or the oldest is older
than ``flush_every`` (measured on the hits' own timestamps), unless ``auto_flush=False``;
the owner also calls ``flush`` on a timer and at shutdown.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from publisher.intake.countbuffer import CountBuffer
from publisher.store.pageviews import write_view_counts
from publisher.store.types import Engine

COLLAPSE = timedelta(minutes=30)
# Crawlers, link previewers, monitors and HTTP libraries; an empty user agent counts as a bot.
# "bot" is not a bot inside a word starting "cubot": CUBOT is a phone maker whose models
# ("CUBOT P40", "CUBOT_X30") name themselves in the user agent (isbot has the same exception).
BOT_USER_AGENT = re.compile(
    r"(?<!\bcu)bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|curl/|wget/"
    r"|python-requests|python-urllib|aiohttp|httpx|go-http-client|java/|okhttp|headless"
    r"|lighthouse|pingdom|uptime|monitor|feedfetcher|yeti|daumoa|scrapy|ahrefs|semrush",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)  # user agents repeat a lot, and the regex costs ~15 µs
def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or BOT_USER_AGENT.search(user_agent) is not None


@dataclass
class RecorderStats:
    counted: int = 0
    collapsed: int = 0
    bots: int = 0
    stored: int = 0
    unknown_articles: int = 0
    capped: int = 0  # over the per-source cap for one article in the hour


class ViewRecorder:
    def __init__(
        self,
        engine: Engine,
        *,
        collapse: timedelta = COLLAPSE,
        flush_every: timedelta = timedelta(seconds=30),
        max_buffered: int = 50_000,
        auto_flush: bool = True,
        per_source_hour: int | None = None,
    ) -> None:
        """``auto_flush=False``: record_hit never writes; the owner calls flush() (e.g. an
        async server calling it from a worker thread on a timer, off the event loop).

        ``per_source_hour``: how many views one source (the client IP, given to record_hit)
        may add to one article per clock hour, however many visitor keys it presents."""
        self._engine = engine
        self._collapse_seconds = collapse.total_seconds()
        self._auto_flush = auto_flush
        # hash((visitor, article)) → POSIX time of the last *counted* hit, in two generations
        # of one collapse window each: the older one is dropped whole, so memory stays at
        # about two windows of visitors without per-entry pruning. (A 64-bit hash collision
        # would merge two visitors for 30 minutes; that is noise, not a bias.)
        self._seen: dict[int, float] = {}
        self._seen_before: dict[int, float] = {}
        self._generation_start: float | None = None
        self._buffer: CountBuffer[tuple[str, datetime]] = CountBuffer(
            flush_every=flush_every, max_buffered=max_buffered
        )
        self._per_source = per_source_hour
        # hash((source, article)) → views counted this hour; dropped whole when the hour turns.
        self._source_hour = -1
        self._source_counts: dict[int, int] = {}
        self._lock = threading.Lock()
        self.stats = RecorderStats()

    def record_hit(
        self, article_id: str, visitor_key: str, user_agent: str, at: datetime,
        *, source: str | None = None,
    ) -> bool:  # fmt: skip
        """Count one page view; False when it was a bot, a repeat within the collapse window,
        or over the source's cap for this article.

        Repeats are measured from the visitor's last counted view of that article, so someone
        reloading every ten minutes counts once per half hour. Visitor keys are the client's
        to choose; ``source`` (the client IP) is not, so the cap is what stops one client
        from ranking an article by rotating visitor keys.
        """
        if at.tzinfo is None:
            raise ValueError("record_hit needs a timezone-aware time")
        if is_bot(user_agent):
            self.stats.bots += 1
            return False
        at = at.astimezone(UTC)
        now = at.timestamp()
        key = hash((visitor_key, article_id))
        window = self._collapse_seconds
        with self._lock:
            if self._generation_start is None or now - self._generation_start >= window:
                self._seen_before, self._seen = self._seen, {}
                self._generation_start = now
            last = self._seen.get(key)
            if last is None:
                last = self._seen_before.get(key)
            if last is not None and now - last < window:
                self.stats.collapsed += 1
                return False
            if source is not None and not self._take_source(source, article_id, now):
                self.stats.capped += 1
                return False
            self._seen[key] = now
            bucket = (article_id, at.replace(minute=0, second=0, microsecond=0))
            self.stats.counted += 1
            due = self._buffer.add(bucket, at)
        if due and self._auto_flush:
            self.flush()
        return True

    def _take_source(self, source: str, article_id: str, now: float) -> bool:
        """One more view from ``source`` on the article this hour, if under the cap (locked)."""
        if self._per_source is None:
            return True
        hour = int(now // 3600)
        if hour != self._source_hour:
            self._source_hour, self._source_counts = hour, {}
        key = hash((source, article_id))
        taken = self._source_counts.get(key, 0)
        if taken >= self._per_source:
            return False
        self._source_counts[key] = taken + 1
        return True

    @property
    def buffered(self) -> int:
        """Counted hits not yet written."""
        return self._buffer.buffered

    def flush(self) -> int:
        """Write the buffered counts in one transaction; returns the views stored.

        Hits on unknown article ids are dropped (and counted in ``stats``). If the write
        fails, the counts go back into the buffer and the error is raised.
        """
        with self._lock:
            counts, buffered = self._buffer.take()
        if not counts:
            return 0
        try:
            stored, _unknown = write_view_counts(self._engine, counts)
        except Exception:
            with self._lock:
                self._buffer.restore(counts, buffered)
            raise
        self.stats.stored += stored
        self.stats.unknown_articles += buffered - stored
        return stored
