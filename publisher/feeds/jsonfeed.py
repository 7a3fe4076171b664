"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), built with json in a fixed key order."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from publisher.feeds.clean import xml_safe
from publisher.feeds.items import FeedItem, FeedMeta

log = logging.getLogger(__name__)
VERSION = "https://jsonfeed.org/version/1.1"


def _date(at: datetime) -> str:
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at).isoformat()


def _item(item: FeedItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": xml_safe(item.id),
        "url": xml_safe(item.url),
        "title": xml_safe(item.title),
    }
    if item.content_html:
        out["content_html"] = xml_safe(item.content_html)
    else:
        out["content_text"] = xml_safe(item.summary) or xml_safe(item.title)
    if item.summary:
        out["summary"] = xml_safe(item.summary)
    if item.image_url:
        out["image"] = xml_safe(item.image_url)
    out["date_published"] = _date(item.published)
    out["date_modified"] = _date(item.updated)
    if item.author:
        out["authors"] = [{"name": xml_safe(item.author)}]
    tags = [xml_safe(c.label) for c in item.categories]
    if tags:
        out["tags"] = tags
    if item.image_url and item.image_type and item.image_length:
        out["attachments"] = [
            {
                "url": xml_safe(item.image_url),
                "mime_type": xml_safe(item.image_type),
                "title": xml_safe(item.image_caption),
                "size_in_bytes": item.image_length,
            }
        ]
    return out


def render_json_feed(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": xml_safe(meta.title),
        "home_page_url": xml_safe(meta.site_url),
        "feed_url": xml_safe(meta.urls["json"]),
        "description": xml_safe(meta.description),
        "language": meta.language,
    }
    if meta.logo_url:
        feed["icon"] = xml_safe(meta.logo_url)
    if meta.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": xml_safe(h)} for h in meta.hubs]
    entries: list[dict[str, Any]] = []
    for item in items:
        try:
            entries.append(_item(item))
        except Exception:  # isolation: a bad entry never costs the whole feed
            log.exception("feed %s: entry %r skipped", meta.urls["json"], item.id)
    feed["items"] = entries
    # Compact: with indent, json falls back to its pure-Python encoder (several times slower).
    return (json.dumps(feed, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
