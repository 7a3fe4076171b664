"""Where a click goes: the article's URL as stored, never a URL from the request.

``LinkTargets`` keeps each article's URL and status in memory for a minute, so the redirect
costs no query while a digest's clicks pour in, and a retraction is honoured within that
minute.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from publisher.analytics.links import Target, read_reader_issued, read_target
from publisher.core.config import Settings
from publisher.core.tokens import TokenError
from publisher.store import clicks as store_clicks
from publisher.store.types import Engine

TTL_SECONDS = 60.0
MAX_ARTICLES = 20_000
MAX_TOKEN = 200  # a click token is about 50 characters
Stored = tuple[str, str]  # an article's url and status, as stored


@dataclass(frozen=True, slots=True)
class Destination:
    url: str
    retracted: bool  # the article is retracted or gone: the url is the site's or a notice


class LinkTargets:
    """Article id → (url, status), cached; None for an unknown article.

    The cache holds floats and strings only (an unknown article's url and status are ""):
    objects the garbage collector never walks, however many articles are clicked."""

    def __init__(self, engine: Engine, *, ttl: float = TTL_SECONDS) -> None:
        self._engine = engine
        self._ttl = ttl
        self._cache: OrderedDict[int, tuple[float, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, article_id: int) -> tuple[bool, Stored | None]:
        """(found in the cache, the article's url and status): no query."""
        hit = self._cache.get(article_id)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, (hit[1], hit[2]) if hit[2] else None

    def load(self, article_id: int) -> Stored | None:
        """Read the article from the store (call it off the event loop) and cache it."""
        with self._engine.connect() as conn:
            info = store_clicks.article_info(conn, article_id)
        found = (info.url, info.status) if info is not None else None
        with self._lock:
            self._cache[article_id] = (time.monotonic() + self._ttl, *(found or ("", "")))
            while len(self._cache) > MAX_ARTICLES:
                self._cache.popitem(last=False)
        return found


def destination(stored: Stored | None, settings: Settings) -> Destination:
    """The article's stored URL; a retracted or deleted article goes to the notice page."""
    if stored is None or stored[1] != "published":
        return Destination(settings.retracted_notice_url or settings.site_url, retracted=True)
    return Destination(stored[0], retracted=False)


def _end_of(day: int) -> datetime:
    return datetime.fromtimestamp((day + 1) * 86400 + 3600, tz=UTC)


@lru_cache(maxsize=65536)  # verifying a signature costs ~15 µs; a digest has few links
def parse_token(secret: str, token: str, now_day: int) -> Target | None:
    """The target of a click token, or None if it is forged. ``now_day`` (days since the
    epoch) keys the cache so a cached answer is never older than a day; the token is read as
    of the end of that day (and an hour, for clocks that differ between hosts), so a link
    made a moment ago is not "from the future"."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        return read_target(secret, token, now=_end_of(now_day))
    except TokenError:
        return None


@lru_cache(maxsize=65536)
def parse_reader(secret: str, token: str, now_day: int) -> tuple[int, datetime] | None:
    """The subscriber id of a reader part and when it was issued, or None if forged."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        return read_reader_issued(secret, token, now=_end_of(now_day))
    except TokenError:
        return None
