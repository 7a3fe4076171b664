"""Settings of syndication beyond RSS: news sitemaps, IndexNow, ninjs, partner MRSS, webhooks."""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from publisher.core.fieldchecks import http_url
from publisher.core.vocab import EventType

# The events a webhook endpoint may ask for (syndication/events.py emits them).
WEBHOOK_EVENTS: tuple[str, ...] = get_args(EventType)
_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{16,}$")
_KEY = re.compile(r"^[A-Za-z0-9-]{8,128}$")  # the IndexNow protocol's key alphabet and length


class WebhookEndpoint(BaseModel):
    """One receiver of signed events (Standard Webhooks)."""

    model_config = {"extra": "forbid", "frozen": True}
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Unique name.")
    url: str = Field(description="Where events are POSTed.")
    events: list[str] = Field(default=["*"], description="Event types wanted; * for all.")
    secret: str = Field(description="Signing secret, whsec_ + base64 (at least 16 chars).")

    _url = field_validator("url")(http_url)

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            if name != "*" and name not in WEBHOOK_EVENTS:
                raise ValueError(f"{name!r} is not an event ({', '.join(WEBHOOK_EVENTS)}, *)")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not _SECRET.match(value):
            raise ValueError("must look like whsec_<base64>, at least 16 characters after it")
        return value

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class SyndicationSettings(BaseModel):
    # --- syndication ---
    news_sitemap_name: str = Field(
        default="", description="Publication name in the news sitemap (empty: site_name)."
    )
    news_sitemap_hours: int = Field(
        default=48, ge=1, le=48, description="Articles published this many hours back are news."
    )
    indexnow_endpoints: list[str] = Field(
        default=[],
        description="IndexNow endpoints sent changed article URLs (empty: none), e.g. "
        "https://searchadvisor.naver.com/indexnow, https://www.bing.com/indexnow.",
    )
    indexnow_key: str = Field(
        default="",
        description="IndexNow key (8-128 of a-z A-Z 0-9 -), served at /{key}.txt; required "
        "when indexnow_endpoints is set.",
    )
    ninjs_version: Literal["3.1", "2.2"] = Field(
        default="3.1", description="IPTC ninjs version of /api/ninjs."
    )
    partner_feed: bool = Field(
        default=True, description="Build feeds/partner.xml, the full-text MRSS partner profile."
    )
    webhooks: list[WebhookEndpoint] = Field(
        default=[], description="Webhook endpoints: name, url, events, secret (whsec_…)."
    )
    webhook_disable_after: int = Field(
        default=50,
        ge=1,
        le=10000,
        description="Consecutive failed attempts after which an endpoint is disabled.",
    )

    @field_validator("indexnow_endpoints")
    @classmethod
    def _endpoint_urls(cls, value: list[str]) -> list[str]:
        return [http_url(url) for url in value]

    @field_validator("indexnow_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value and not _KEY.match(value):
            raise ValueError("8 to 128 characters of a-z, A-Z, 0-9 and -")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SyndicationSettings:
        if self.indexnow_endpoints and not self.indexnow_key:
            raise ValueError("indexnow_key: required when indexnow_endpoints is set")
        names = [w.name for w in self.webhooks]
        if len(set(names)) != len(names):
            raise ValueError("webhooks: two endpoints have the same name")
        return self
