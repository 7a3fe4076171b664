"""Articles → feed items: stable ids, clean text, absolute URLs, the image on top.

A FeedItem holds only what a feed shows, already cleaned; the renderers in formats.py and
jsonfeed.py turn a FeedMeta and FeedItems into bytes.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal
from urllib.parse import quote

from publisher.core.models import Article
from publisher.feeds.clean import absolute_url, clean_html, html_to_text, image_figure, plain

log = logging.getLogger(__name__)

FeedFormat = Literal["rss", "atom", "json"]
FORMATS: tuple[FeedFormat, ...] = ("rss", "atom", "json")
FILENAMES: dict[FeedFormat, str] = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
TITLE_LIMIT = 300
SUMMARY_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Category:
    term: str
    label: str
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: str
    url: str
    title: str
    summary: str  # plain text
    content_html: str  # cleaned, absolute links, image on top; "" when summary-only
    author: str
    categories: tuple[Category, ...]
    published: datetime
    updated: datetime
    image_url: str | None = None
    image_caption: str = ""
    image_type: str | None = None
    image_length: int | None = None
    # The partner MRSS profile (issue 17) shows these; the other feeds do not.
    image_width: int | None = None
    image_height: int | None = None
    image_credit: str = ""


@dataclass(frozen=True, slots=True)
class FeedMeta:
    id: str
    title: str
    description: str
    site_url: str
    urls: dict[FeedFormat, str]  # the public URL of each format of this feed
    language: str
    updated: datetime  # the newest item's update time, never the clock
    ttl: int = 0
    logo_url: str = ""
    hubs: tuple[str, ...] = ()
    generator: str = "publisher"
    generator_version: str = ""
    generator_uri: str = ""


@dataclass(frozen=True, slots=True)
class TagScheme:
    """``tag:<authority>,<date>:article/<external id>`` (RFC 4151).

    Only the external id varies, so an entry keeps its id when its URL, title, section or
    even publication date changes. authority and date come from settings and must never change.
    """

    authority: str
    date: str

    def article(self, external_id: str) -> str:
        return f"tag:{self.authority},{self.date}:article/{quote(external_id, safe='-._~')}"

    def feed(self, name: str) -> str:
        return f"tag:{self.authority},{self.date}:feed/{quote(name, safe='-._~/')}"


def aware(at: datetime, tz: tzinfo) -> datetime:
    """``at`` in the site timezone; a naive value is read as site time."""
    return at.replace(tzinfo=tz) if at.tzinfo is None else at.astimezone(tz)


def prepare_item(
    article: Article, *, tags: TagScheme, tz: tzinfo, full_text: bool, site_url: str
) -> FeedItem:
    """One article as a feed item. Raises ValueError when it has no usable URL or title."""
    url = absolute_url(article.url, base=site_url)
    if url is None:
        raise ValueError(f"article {article.external_id!r}: url is not absolute http(s)")
    title = plain(article.title, limit=TITLE_LIMIT) or plain(article.external_id)
    if not title:
        raise ValueError(f"article {article.external_id!r}: empty title")
    image = absolute_url(article.image_url, base=url)
    caption = plain(article.image_caption)
    body = clean_html(article.content_html, base_url=url)
    summary = plain(article.summary, limit=SUMMARY_LIMIT)
    if not summary:
        summary = html_to_text(body, limit=SUMMARY_LIMIT)
    content = ""
    if full_text:
        content = (image_figure(image, caption) if image else "") + body
    categories: list[Category] = []
    if article.section:
        label = plain(article.section_name) or plain(article.section)
        categories.append(Category(term=plain(article.section), label=label, scheme=site_url))
    seen = {c.label for c in categories}
    for tag in article.tags:
        text = plain(tag)
        if text and text not in seen:
            seen.add(text)
            categories.append(Category(term=text, label=text))
    published = aware(article.published_at, tz)
    updated = max(aware(article.updated_at, tz), published)
    image_type = plain(article.image_type) or None
    if image and not image_type:
        image_type = mimetypes.guess_type(image)[0]
    length = article.image_length if article.image_length and article.image_length > 0 else None
    return FeedItem(
        id=tags.article(article.external_id),
        url=url,
        title=title,
        summary=summary,
        content_html=content,
        author=plain(article.author),
        categories=tuple(categories),
        published=published,
        updated=updated,
        image_url=image,
        image_caption=caption,
        image_type=image_type,
        image_length=length,
        image_width=article.image_width if article.image_width and article.image_height else None,
        image_height=article.image_height if article.image_width and article.image_height else None,
        image_credit=plain(article.image_credit),
    )


def prepare_items(
    articles: Sequence[Article],
    *,
    tags: TagScheme,
    tz: tzinfo,
    full_text: bool,
    site_url: str,
    cache: dict[tuple[str, datetime], FeedItem] | None = None,
) -> list[FeedItem]:
    """Items in the given order; duplicates (same id) and unusable articles are dropped."""
    out: list[FeedItem] = []
    seen: set[str] = set()
    for a in articles:
        key = (a.external_id, a.updated_at)
        item = cache.get(key) if cache is not None else None
        if item is None:
            try:
                item = prepare_item(a, tags=tags, tz=tz, full_text=full_text, site_url=site_url)
            except ValueError as exc:
                log.warning("feed entry skipped: %s", exc)
                continue
            except Exception:  # isolation: one broken article never stops a feed
                log.exception("feed entry skipped: article %r", a.external_id)
                continue
            if cache is not None:
                cache[key] = item
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return out
