"""Sitemaps for search engines and news aggregators (issue 17), built with the feeds.

- ``news-sitemap.xml``: Google News, the articles published in the last ``news_sitemap_hours``
  (at most 1,000, newest first); a retracted article is gone at the next build.
- ``sitemap-YYYY-MM.xml``: every published article of one month (UTC, by publication), split
  into ``sitemap-YYYY-MM-2.xml``… past 50,000 URLs or 50 MB.
- ``sitemap.xml``: the index of all of them, with each file's ``lastmod``.

A build reads one change signature first (a count and three index lookups); when it and the
files on disk are as the last build left them, only the news sitemap's key list (at most 1,000
rows through the published_at index) is read. Otherwise the per-month totals say which months
changed; only those are read again, row by row, and rewritten. State lives in
``feeds_dir/.sitemapstate.json``, files are written atomically and only when their bytes change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from publisher.core.config import Settings
from publisher.feeds.scopes import feeds_base_url
from publisher.feeds.writer import file_stamp, fsync_dir, write_if_changed
from publisher.store import sitemaps as q
from publisher.store.types import Engine

STATE_FILE = ".sitemapstate.json"
INDEX = "sitemap.xml"
NEWS = "news-sitemap.xml"
NEWS_LIMIT = 1000
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024  # the protocol's 50 MB (52,428,800 bytes), uncompressed
_EVENT_LIMIT = 10_000  # more article events than this since the last build: check all months
SM = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SM}">\n'.encode()
_TAIL = b"</urlset>\n"


@dataclass(frozen=True, slots=True)
class SitemapFile:
    path: str  # relative to feeds_dir
    url: str
    urls: int
    changed: bool
    bytes: int


def write_key_file(settings: Settings) -> Path | None:
    """``feeds_dir/{indexnow_key}.txt``, for nginx to serve at the site's root (IndexNow's
    keyLocation); written with the sitemaps and before each submission, only on change."""
    if not settings.indexnow_key:
        return None
    path = Path(settings.feeds_dir) / f"{settings.indexnow_key}.txt"
    write_if_changed(path, settings.indexnow_key.encode("ascii"))
    return path


def w3c(stamp: q.Stamp) -> str:
    """A stored UTC time (SQLite text or a datetime) as a W3C datetime."""
    if isinstance(stamp, datetime):
        return stamp.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{stamp[:10]}T{stamp[11:19]}Z"


def month_range(month: str) -> tuple[datetime, datetime]:
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)
    return start, end


def part_name(month: str, part: int) -> str:
    return f"sitemap-{month}.xml" if part == 1 else f"sitemap-{month}-{part}.xml"


def month_parts(entries: Iterable[tuple[str, q.Stamp]]) -> Iterator[tuple[bytes, int]]:
    """The urlset documents of one month's entries: (bytes, URLs), each within the limits."""
    budget = MAX_BYTES - len(_HEAD) - len(_TAIL)
    chunks: list[bytes] = []
    size = count = 0
    for url, stamp in entries:
        line = f"<url><loc>{escape(url)}</loc><lastmod>{w3c(stamp)}</lastmod></url>\n".encode()
        if count and (count == MAX_URLS or size + len(line) > budget):
            yield b"".join([_HEAD, *chunks, _TAIL]), count
            chunks, size, count = [], 0, 0
        chunks.append(line)
        size += len(line)
        count += 1
    if count:
        yield b"".join([_HEAD, *chunks, _TAIL]), count


def render_news(
    entries: Iterable[tuple[str, str, str, q.Stamp, q.Stamp]], *, name: str, language: str
) -> bytes:
    out = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SM}" xmlns:news="{NEWS_NS}">\n'
    ]
    publication = (
        f"<news:publication><news:name>{escape(name)}</news:name>"
        f"<news:language>{escape(language)}</news:language></news:publication>"
    )
    for _, url, title, published, updated in entries:
        out.append(
            f"<url><loc>{escape(url)}</loc><lastmod>{w3c(updated)}</lastmod><news:news>"
            f"{publication}<news:publication_date>{w3c(published)}</news:publication_date>"
            f"<news:title>{escape(title)}</news:title></news:news></url>\n"
        )
    out.append("</urlset>\n")
    return "".join(out).encode("utf-8")


def render_index(files: Iterable[tuple[str, str | None]]) -> bytes:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SM}">\n']
    for url, lastmod in files:
        mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        out.append(f"<sitemap><loc>{escape(url)}</loc>{mod}</sitemap>\n")
    out.append("</sitemapindex>\n")
    return "".join(out).encode("utf-8")


@dataclass
class SitemapState:
    signature: str = ""
    seq: int = 0  # the last article event seen
    months: dict[str, dict[str, Any]] = field(default_factory=dict)  # month → totals, files
    news: dict[str, Any] = field(default_factory=dict)
    index: list[int] | None = None
    top: int | None = None  # the newest article row seen (rows added since: their months)

    @classmethod
    def load(cls, path: Path) -> SitemapState:
        try:
            raw = json.loads(path.read_text("utf-8"))
            return cls(
                str(raw["signature"]), int(raw["seq"]), dict(raw["months"]), dict(raw["news"]),
                raw["index"], raw.get("top"),
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            return cls()  # missing or damaged: the next build renders everything

    def dump(self) -> bytes:
        blob = {
            "signature": self.signature, "seq": self.seq, "months": self.months,
            "news": self.news, "index": self.index, "top": self.top,
        }  # fmt: skip
        return json.dumps(blob, sort_keys=True).encode("utf-8")


class SitemapBuilder:
    """Reusable across builds (the feed builder keeps one; its state then stays in memory)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.root = Path(settings.feeds_dir)
        self.base = feeds_base_url(settings)
        self._state: SitemapState | None = None

    @property
    def state(self) -> SitemapState:
        if self._state is None:
            self._state = SitemapState.load(self.root / STATE_FILE)
        return self._state

    def _intact(self, files: dict[str, Any]) -> bool:
        return all(file_stamp(self.root / rel) == stamp for rel, stamp in files.items())

    def _all_intact(self) -> bool:
        st = self.state
        return (
            st.index is not None
            and file_stamp(self.root / INDEX) == st.index
            and all(self._intact(m["files"]) for m in st.months.values())
        )

    def build(self, *, now: datetime, force: bool = False) -> list[SitemapFile]:
        """Write what changed; one result per file (news, each month part, the index)."""
        write_key_file(self.settings)
        st = self.state
        s = self.settings
        results: list[SitemapFile] = []
        with self.engine.connect() as conn:
            signature = q.change_signature(conn)
            since = now - timedelta(hours=s.news_sitemap_hours)
            news_rows = q.news_entries(conn, since=since, until=now, limit=NEWS_LIMIT)
            moved = force or signature != st.signature or not self._all_intact()
            if moved:
                self._months(conn, force=force, results=results)
                st.signature = signature
            else:
                results.extend(self._unchanged_months())
        news_changed = self._news(news_rows, force=force, results=results)
        if moved or news_changed:
            data = render_index(self._index_entries())
            changed = write_if_changed(self.root / INDEX, data, force=force)
            st.index = file_stamp(self.root / INDEX)
            results.append(
                SitemapFile(INDEX, self.base + INDEX, len(st.months), changed, len(data))
            )
            write_if_changed(self.root / STATE_FILE, st.dump())
        else:
            size = (st.index or [0])[0]
            results.append(SitemapFile(INDEX, self.base + INDEX, len(st.months), False, size))
        return results

    def _unchanged_months(self) -> list[SitemapFile]:
        out = []
        for month in sorted(self.state.months):
            entry = self.state.months[month]
            for rel, urls in entry["parts"]:
                size = entry["files"][rel][0]
                out.append(SitemapFile(rel, self.base + rel, urls, False, size))
        return out

    def _totals(self, conn: Any, touched: set[str] | None) -> dict[str, tuple[int, str]]:
        """Per-month totals. With the article events since the last build at hand, only the
        months they name and the months of rows added since are counted again (an index
        range each); otherwise, or on a first build, every month (one scan)."""
        st = self.state
        if touched is None or st.top is None or not st.months:
            return q.month_totals(conn)
        totals = {m: (int(e["totals"][0]), str(e["totals"][1])) for m, e in st.months.items()}
        for month in touched | q.months_after(conn, st.top):
            n, newest = q.month_total(conn, *month_range(month))
            if n:
                totals[month] = (n, newest)
            else:
                totals.pop(month, None)
        return totals

    def _months(self, conn: Any, *, force: bool, results: list[SitemapFile]) -> None:
        st = self.state
        touched = None if force else q.months_of_events(conn, st.seq, limit=_EVENT_LIMIT)
        totals = self._totals(conn, touched)
        st.seq = q.last_article_event(conn)
        st.top = q.max_id(conn)
        touched_dirs = False
        for month in sorted(totals):
            old = st.months.get(month)
            dirty = (
                touched is None
                or month in touched
                or old is None
                or old["totals"] != list(totals[month])
                or not self._intact(old["files"])
            )
            if not dirty:
                assert old is not None
                old["written"] = []
                results.extend(self._entry_results(old))
                continue
            st.months[month] = self._write_month(conn, month, totals[month], old, force)
            results.extend(self._entry_results(st.months[month]))
            touched_dirs = True
        for month in [m for m in st.months if m not in totals]:
            self._remove(st.months.pop(month)["files"], keep=())
            touched_dirs = True
        if touched_dirs:
            fsync_dir(self.root)

    def _entry_results(self, entry: dict[str, Any]) -> list[SitemapFile]:
        written = set(entry.get("written", ()))
        return [
            SitemapFile(rel, self.base + rel, urls, rel in written, entry["files"][rel][0])
            for rel, urls in entry["parts"]
        ]

    def _write_month(
        self, conn: Any, month: str, total: tuple[int, str], old: dict[str, Any] | None,
        force: bool,
    ) -> dict[str, Any]:  # fmt: skip
        start, end = month_range(month)
        parts: list[tuple[str, int]] = []
        files: dict[str, list[int] | None] = {}
        written: list[str] = []
        for number, (data, urls) in enumerate(month_parts(q.month_entries(conn, start, end)), 1):
            rel = part_name(month, number)
            if write_if_changed(self.root / rel, data, force=force, sync_dir=False):
                written.append(rel)
            parts.append((rel, urls))
            files[rel] = file_stamp(self.root / rel)
        if old is not None:
            self._remove(old["files"], keep=files)
        lastmod = w3c(total[1])
        return {
            "totals": list(total), "parts": parts, "files": files, "lastmod": lastmod,
            "written": written,
        }  # fmt: skip

    def _remove(self, files: Iterable[str], *, keep: Iterable[str]) -> None:
        kept = set(keep)
        for rel in files:
            if rel not in kept:
                (self.root / rel).unlink(missing_ok=True)

    def _news(
        self, rows: list[tuple[str, str, str, q.Stamp, q.Stamp]], *, force: bool,
        results: list[SitemapFile],
    ) -> bool:  # fmt: skip
        s = self.settings
        name = s.news_sitemap_name or s.site_name
        h = hashlib.sha256(f"{name}\x1e{s.language}\x1e".encode())
        for row in rows:
            h.update("\x1f".join(str(v) for v in row).encode("utf-8", "surrogatepass"))
        fp = h.hexdigest()
        old = self.state.news
        if not force and old.get("fp") == fp and file_stamp(self.root / NEWS) == old.get("file"):
            results.append(SitemapFile(NEWS, self.base + NEWS, len(rows), False, old["file"][0]))
            return False
        data = render_news(rows, name=name, language=s.language)
        changed = write_if_changed(self.root / NEWS, data, force=force)
        lastmod = max((w3c(r[4]) for r in rows), default=None)
        self.state.news = {"fp": fp, "file": file_stamp(self.root / NEWS), "lastmod": lastmod}
        results.append(SitemapFile(NEWS, self.base + NEWS, len(rows), changed, len(data)))
        return True

    def _index_entries(self) -> list[tuple[str, str | None]]:
        st = self.state
        entries: list[tuple[str, str | None]] = [(self.base + NEWS, st.news.get("lastmod"))]
        for month in sorted(st.months, reverse=True):
            entry = st.months[month]
            entries.extend((self.base + rel, entry["lastmod"]) for rel, _ in entry["parts"])
        return entries
