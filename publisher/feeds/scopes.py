"""Which feeds exist (site, one per section, most viewed), their paths, URLs and channel data."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from publisher import __version__
from publisher.core.config import Settings
from publisher.core.models import Section
from publisher.core.timeparse import format_duration
from publisher.feeds.items import FILENAMES, FORMATS, FeedFormat, FeedItem, FeedMeta, TagScheme

log = logging.getLogger(__name__)

# Bump when the renderers change their output, so a no-change build re-renders once.
FORMAT_VERSION = 1
# The channel date of a feed without entries: fixed, so an empty feed is still byte-stable.
EMPTY_FEED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TEXT = {
    "ko": {"latest": "{site} 최신 기사", "popular": "많이 본 뉴스", "hours": "{n}시간",
           "days": "{n}일",
           "popular_desc": "{site}: 최근 {window} 동안 많이 본 기사", "feeds": "피드"},
    "en": {"latest": "Latest from {site}", "popular": "Most viewed", "hours": "{n} hours",
           "days": "{n} days",
           "popular_desc": "{site}: most viewed in the last {window}", "feeds": "Feeds"},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Scope:
    key: str  # "site", "sections/<slug>" or "popular": also the folder under feeds_dir
    title: str
    description: str
    section: str | None = None
    popular: bool = False

    @property
    def prefix(self) -> str:
        return "" if self.key == "site" else self.key + "/"

    def path(self, fmt: FeedFormat) -> str:
        return self.prefix + FILENAMES[fmt]


def text(settings: Settings, key: str) -> str:
    return _TEXT.get(settings.language, _TEXT["ko"])[key]


def window_text(settings: Settings) -> str:
    """The popular window for people: "24시간", "7일"."""
    seconds = int(settings.popular_window.total_seconds())
    if seconds % 86400 == 0 and seconds > 2 * 86400:
        return text(settings, "days").format(n=seconds // 86400)
    return text(settings, "hours").format(n=max(1, round(seconds / 3600)))


def feeds_base_url(settings: Settings) -> str:
    base = settings.feeds_base_url or settings.public_base_url.rstrip("/") + "/feeds/"
    return base if base.endswith("/") else base + "/"


def tag_scheme(settings: Settings) -> TagScheme:
    authority = settings.feed_tag_authority or urlsplit(settings.site_url).hostname or "localhost"
    return TagScheme(authority=authority, date=settings.feed_tag_date)


def make_scopes(settings: Settings, sections: Sequence[Section]) -> list[Scope]:
    site = settings.site_name
    enabled = set(settings.feed_scopes)
    scopes: list[Scope] = []
    if "site" in enabled:
        desc = settings.feed_description or text(settings, "latest").format(site=site)
        scopes.append(Scope(key="site", title=site, description=desc))
    if "sections" in enabled:
        for s in sections:
            if not _SLUG.match(s.slug):  # the slug becomes a folder name: never trust it
                log.warning("section %r skipped: slug not [a-z0-9-]", s.slug)
                continue
            scopes.append(
                Scope(
                    key=f"sections/{s.slug}",
                    title=f"{site} - {s.name}",
                    description=text(settings, "latest").format(site=f"{site} {s.name}"),
                    section=s.slug,
                )
            )
    if "popular" in enabled:
        window = window_text(settings)
        scopes.append(
            Scope(
                key="popular",
                title=f"{site} - {text(settings, 'popular')}",
                description=text(settings, "popular_desc").format(site=site, window=window),
                popular=True,
            )
        )
    return scopes


def feed_meta(settings: Settings, scope: Scope, items: Sequence[FeedItem]) -> FeedMeta:
    base = feeds_base_url(settings)
    newest = max((i.updated for i in items), default=EMPTY_FEED_DATE)
    return FeedMeta(
        id=tag_scheme(settings).feed(scope.key),
        title=scope.title,
        description=scope.description,
        site_url=settings.site_url,
        urls={fmt: base + scope.path(fmt) for fmt in FORMATS},
        language=settings.language,
        updated=newest.astimezone(settings.tz),
        ttl=settings.feed_ttl,
        logo_url=settings.feed_logo_url,
        hubs=tuple(settings.websub_hubs),
        generator="publisher",
        generator_version=__version__,
        generator_uri="",
    )


_SIGNATURE_FIELDS = (
    "site_name", "site_url", "language", "timezone", "public_base_url", "feeds_base_url",
    "feed_items", "feed_full_text", "feed_scopes", "popular_window", "feed_ttl",
    "feed_logo_url", "feed_description", "feed_tag_authority", "feed_tag_date", "websub_hubs",
    "most_viewed_sources",  # the popular feed's ranking weights (issue 16)
)  # fmt: skip


def config_signature(settings: Settings) -> str:
    """Everything besides the articles that changes a feed's bytes."""
    values = {name: getattr(settings, name) for name in _SIGNATURE_FIELDS}
    values["popular_window"] = format_duration(settings.popular_window)  # "24h" and "1d" alike
    values["_version"] = f"{__version__}/{FORMAT_VERSION}"
    blob = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
