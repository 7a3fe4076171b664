"""Settings of the feeds: how many entries, which scopes, their tag URIs, WebSub hubs."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from publisher.core.fieldchecks import Duration, duration_field


class FeedSettings(BaseModel):
    # --- feeds ---
    feed_items: int = Field(default=50, ge=1, le=500, description="Entries per feed.")
    feed_full_text: bool = Field(
        default=True,
        description="Full article HTML in content:encoded / Atom content (summary stays in "
        "description / summary); false: summary only.",
    )
    feed_scopes: list[Literal["site", "sections", "popular"]] = Field(
        default=["site", "sections", "popular"],
        description="Which feeds to build: the whole site, one per section, most viewed.",
    )
    popular_window: Duration = duration_field(
        "24h", "Window of the most-viewed feed (e.g. 24h, 7d)."
    )
    feed_ttl: int = Field(
        default=15, ge=0, le=1440, description="RSS <ttl> in minutes (0: omitted)."
    )
    feed_logo_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Absolute URL of the feed logo (RSS image, Atom logo, JSON icon).",
    )
    feed_description: str = Field(
        default="", description="Channel description (empty: derived from site_name)."
    )
    feeds_base_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Public URL of the feeds folder (empty: public_base_url + /feeds/).",
    )
    feed_tag_authority: str = Field(
        default="",
        description="Authority of entry tag URIs (empty: host of site_url). Never change it.",
    )
    feed_tag_date: str = Field(
        default="2026",
        pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
        description="Date of entry tag URIs (YYYY[-MM[-DD]]). Never change it.",
    )
    websub_hubs: list[str] = Field(
        default=[], description="WebSub hub URLs pinged after a feed changes (empty: none)."
    )

    @field_validator("websub_hubs")
    @classmethod
    def _hub_urls(cls, value: list[str]) -> list[str]:
        for i, url in enumerate(value):
            if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
                raise ValueError(f"[{i}]: {url!r} is not an absolute http(s) URL")
        return value

    @field_validator("feed_tag_date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        # The pattern checks the shape; a tag URI with month 13 is still invalid (RFC 4151).
        parts = [int(p) for p in value.split("-")]
        try:
            date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date: {exc}") from None
        return value
