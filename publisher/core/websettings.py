"""Settings of the web pages and the API: keys, CORS, proxies, body size, rate limits."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field, field_validator


class WebApiSettings(BaseModel):
    # --- web pages and API ---
    api_keys: list[str] = Field(
        default=[], description="Keys accepted in X-API-Key for /api (empty: operator API closed)."
    )
    cors_origin: str = Field(
        default="", description="Origin allowed by CORS for public endpoints (empty: site_url's)."
    )
    trust_forwarded_for: bool = Field(
        default=False, description="Take the client IP from X-Forwarded-For (behind a proxy)."
    )
    trusted_proxies: list[str] = Field(
        default=["127.0.0.1", "::1"],
        description="Proxy addresses or networks whose X-Forwarded-For entries are believed.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024,
        description="Largest request body accepted by /api (forms and view hits have less).",
    )  # fmt: skip
    confirm_per_address_day: int = Field(
        default=3, ge=1, description="Confirmation emails per address per day."
    )
    subscribe_per_ip_hour: int = Field(
        default=20, ge=1, description="Subscribe form submissions per client IP per hour."
    )
    share_per_ip_hour: int = Field(default=5, ge=1, description="Shares per client IP per hour.")
    share_per_recipient_day: int = Field(
        default=3, ge=1, description="Shares to one recipient address per day."
    )
    share_site_day: int = Field(default=2000, ge=1, description="Shares per day, whole site.")
    share_min_seconds: int = Field(
        default=3, ge=0, description="Minimum seconds between showing the share form and submit."
    )
    views_per_ip_minute: int = Field(
        default=600, ge=1, description="POST /api/views and /v/{id}.gif per client IP per minute."
    )
    views_per_ip_article_hour: int = Field(
        default=3, ge=1, description="Views one client IP can add to one article per hour."
    )
    views_flush_seconds: int = Field(
        default=10, ge=1, description="How often buffered page views are written."
    )
    most_viewed_cache_seconds: int = Field(
        default=30, ge=0, description="How long GET /api/most-viewed answers are reused."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value
