"""Plain data: what moves between the stages. No behaviour, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from publisher.core.vocab import SubscriberFrequency, SubscriberStatus

ArticleStatus = Literal["published", "retracted"]


@dataclass(frozen=True, slots=True)
class Article:
    """An article as the store knows it; sanitised on the way in (see intake/validate.py)."""

    external_id: str
    url: str
    title: str
    published_at: datetime
    updated_at: datetime
    summary: str = ""
    content_html: str = ""
    author: str = ""
    section: str | None = None
    section_name: str | None = None
    tags: tuple[str, ...] = ()
    image_url: str | None = None
    image_caption: str | None = None
    image_type: str | None = None
    image_length: int | None = None
    status: ArticleStatus = "published"
    breaking: bool = False  # intake asked for a breaking-news alert (issue 15); not stored
    # The image's pixel size and credit (issue 17: ninjs, partner MRSS); optional.
    image_width: int | None = None
    image_height: int | None = None
    image_credit: str | None = None
    # Set by the store.
    id: int | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Section:
    slug: str
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class RankedArticle:
    """One row of the most-viewed ranking (많이 본 뉴스)."""

    rank: int
    article: Article
    views: int


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: SubscriberStatus
    frequency: SubscriberFrequency
    sections: tuple[str, ...] = field(default=())
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    alerts: bool = False  # opted in to breaking-news alerts (issue 15)


# What a digest run selected (digests/selection.py), as the renderer receives it.
@dataclass(frozen=True, slots=True)
class SectionGroup:
    slug: str | None
    name: str | None
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    groups: tuple[SectionGroup, ...]
    most_viewed: tuple[RankedArticle, ...]
    dropped: int = 0  # new articles over max_items, not listed

    @property
    def item_count(self) -> int:
        return sum(len(g.articles) for g in self.groups)

    @property
    def titles(self) -> list[str]:
        return [a.title for g in self.groups for a in g.articles]
