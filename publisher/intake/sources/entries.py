"""Feed entries (as feedparser leaves them: plain mappings) → article objects for the intake.

Dates are parsed here, not taken from feedparser's ``*_parsed``: feedparser accepts a bad
RFC 822 date without complaint, and an entry with a date we cannot read is refused by name.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from publisher.core.timeparse import parse_rfc3339
from publisher.feeds.clean import html_to_text, plain
from publisher.intake.validate import MAX_SUMMARY, MAX_TITLE

ID_HASH_CHARS = 32  # 128 bits of SHA-256: ids stay short and never collide in practice
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def entry_id(source_name: str, key: str) -> str:
    """The article id of a feed entry: ``<source name>:<first 32 hex of SHA-256(GUID)>``.

    The GUID (RSS guid / Atom id; the link when there is none) is hashed because it is often
    a URL, and ids may not hold '/', '?', '#' or spaces. At most 64 + 1 + 32 characters.
    """
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{source_name}:{digest[:ID_HASH_CHARS]}"


@dataclass
class Entry:
    """One feed entry: its position (1-based), GUID and link, and the article or the reason."""

    position: int
    guid: str | None
    link: str | None
    article: dict[str, Any] | None = None
    error: str | None = None

    @property
    def key(self) -> str | None:
        return self.guid or self.link


def _str(entry: Mapping[str, Any], name: str) -> str:
    value = entry.get(name)
    return value.strip() if isinstance(value, str) else ""


def parse_date(raw: str) -> datetime:
    """An RFC 822 (RSS) or RFC 3339 (Atom) date; ValueError when it is neither."""
    text = raw.strip()
    if text[:4].isdigit():
        return parse_rfc3339(text, UTC)
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not an RFC 822 or RFC 3339 date: {text[:40]!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _title(entry: Mapping[str, Any]) -> str:
    detail = entry.get("title_detail") or {}
    raw = _str(entry, "title")
    if detail.get("type") in _HTML_TYPES:
        return html_to_text(raw, limit=MAX_TITLE)
    return plain(raw, limit=MAX_TITLE)


def _content(entry: Mapping[str, Any]) -> str:
    parts: Sequence[Mapping[str, Any]] = entry.get("content") or []
    for part in parts:
        if part.get("type") in _HTML_TYPES and part.get("value"):
            return str(part["value"])
    for part in parts:
        if part.get("value"):
            return f"<p>{html.escape(str(part['value']))}</p>"
    return ""


def _length(raw: object) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() else None


def _image(entry: Mapping[str, Any]) -> dict[str, Any]:
    """media:content image, else an image enclosure, else media:thumbnail."""
    for media in entry.get("media_content") or []:
        kind = str(media.get("type") or "")
        if media.get("url") and (media.get("medium") == "image" or kind.startswith("image/")):
            return _image_fields(media["url"], kind, media.get("filesize"))
    for link in entry.get("links") or []:
        kind = str(link.get("type") or "")
        if link.get("rel") == "enclosure" and link.get("href") and kind.startswith("image/"):
            return _image_fields(link["href"], kind, link.get("length"))
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            return _image_fields(thumb["url"], "", None)
    return {}


def _image_fields(url: str, kind: str, length: object) -> dict[str, Any]:
    out: dict[str, Any] = {"image_url": url}
    if kind:
        out["image_type"] = kind.split(";")[0].strip().lower()
    if (n := _length(length)) is not None:
        out["image_length"] = n
    return out


def map_entry(
    entry: Mapping[str, Any], position: int, *, section: str | None, now: datetime
) -> Entry:
    """The article object (without "id": that needs the store) or why the entry is refused."""
    guid, link = _str(entry, "id") or None, _str(entry, "link") or None
    out = Entry(position, guid, link)
    if out.key is None:
        out.error = "the entry has neither a guid/id nor a link"
        return out
    dates: dict[str, datetime] = {}
    for name in ("published", "updated"):
        raw = _str(entry, name)
        if raw:
            try:
                dates[name] = parse_date(raw)
            except ValueError as exc:
                out.error = f"{name}: {exc}"
                return out
    published = dates.get("published") or dates.get("updated") or now
    summary = _str(entry, "summary")
    author = entry.get("author_detail") or {}
    article: dict[str, Any] = {
        "url": link or guid,
        "title": _title(entry),
        "published_at": published.isoformat(),
        "updated_at": dates.get("updated", published).isoformat(),
        "summary": html_to_text(summary, limit=MAX_SUMMARY) if "<" in summary else summary,
        "content_html": _content(entry),
        "author": str(author.get("name") or "") or _str(entry, "author"),
        "tags": [
            str(t.get("label") or t.get("term")).strip()
            for t in entry.get("tags") or []
            if t.get("label") or t.get("term")
        ],
        **_image(entry),
    }
    if section:
        article["section"] = section
    out.article = article
    return out


def dedupe(entries: Iterable[Entry]) -> tuple[list[Entry], int]:
    """Keep the first entry per GUID, then the first per link; also count what was dropped."""
    kept: list[Entry] = []
    keys: set[str] = set()
    links: set[str] = set()
    dropped = 0
    for e in entries:
        if e.key in keys or (e.link is not None and e.link in links):
            dropped += 1
            continue
        if e.key is not None:
            keys.add(e.key)
        if e.link is not None:
            links.add(e.link)
        kept.append(e)
    return kept, dropped
