"""GET /feeds/…: the built feed files, with content types, validators and 304s.

In production a static server (see the README's nginx snippet) can serve feeds_dir instead;
this route gives the same answers for a single-process set-up and for tests.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Request, Response

from publisher.core.config import Settings

CONTENT_TYPES = {
    "rss.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
    "feed.json": "application/feed+json; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}
_CACHE_SIZE = 256
# Sitemaps (issue 17): the index, the news sitemap and the monthly parts; the partner MRSS feed.
_SITEMAP = re.compile(r"^(sitemap|news-sitemap|sitemap-\d{4}-\d{2}(-\d+)?)\.xml$")
PARTNER_FEED = "partner.xml"


def content_type(name: str) -> str | None:
    """The Content-Type of a feeds_dir file by its name; None for a file not served."""
    if name in CONTENT_TYPES:
        return CONTENT_TYPES[name]
    if _SITEMAP.match(name):
        return "application/xml; charset=utf-8"
    if name == PARTNER_FEED:
        return "application/rss+xml; charset=utf-8"
    return None


class _FileCache:
    """(path, size, mtime) → (bytes, etag): a feed is read and hashed once per change."""

    def __init__(self) -> None:
        self._items: dict[Path, tuple[int, int, bytes, str]] = {}

    def get(self, path: Path) -> tuple[bytes, str, datetime] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        modified = datetime.fromtimestamp(int(st.st_mtime), UTC)
        hit = self._items.get(path)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2], hit[3], modified
        try:
            data = path.read_bytes()
        except OSError:
            return None
        etag = 'W/"' + hashlib.sha256(data).hexdigest()[:32] + '"'  # weak: gzip may re-encode
        if len(self._items) >= _CACHE_SIZE:
            self._items.clear()
        self._items[path] = (st.st_size, st.st_mtime_ns, data, etag)
        return data, etag, modified


def _resolve(root: Path, rel: str) -> Path | None:
    """The file under ``root`` for URL path ``rel``, or None: no traversal, no hidden files."""
    rel = rel or "index.html"
    if rel.endswith("/"):
        rel += "index.html"
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") or "\\" in p for p in parts):
        return None
    if content_type(parts[-1]) is None:
        return None
    path = root.joinpath(*parts)
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since
    return False


def router(settings: Settings) -> APIRouter:
    root = Path(settings.feeds_dir).resolve()
    cache = _FileCache()
    max_age = max(60, settings.feed_ttl * 60 // 2)
    api = APIRouter()

    @api.api_route("/feeds", methods=["GET", "HEAD"], include_in_schema=False)
    @api.api_route("/feeds/{rel:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def feed_file(request: Request, rel: str = "") -> Response:
        path = _resolve(root, rel)
        found = cache.get(path) if path is not None else None
        if path is None or found is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        data, etag, modified = found
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "Cache-Control": f"public, max-age={max_age}",
            "Vary": "Accept-Encoding",
        }
        if _not_modified(request, etag, modified):
            return Response(status_code=304, headers=headers)
        body = b"" if request.method == "HEAD" else data
        headers["Content-Length"] = str(len(data))
        return Response(body, media_type=content_type(path.name), headers=headers)

    return api
