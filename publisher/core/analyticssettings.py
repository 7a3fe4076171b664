"""Settings of click analytics: tracked links, honest counting, retention, ranking weights."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from publisher.core.fieldchecks import Duration, duration_field

# Page views from the site's beacons; email reads from tracked digest links.
VIEW_SOURCES = ("web", "email")


class AnalyticsSettings(BaseModel):
    # --- click analytics ---
    track_clicks: bool = Field(
        default=True,
        description="Rewrite digest article links to {public_base_url}/c/TOKEN (aggregate).",
    )
    track_per_reader: bool = Field(
        default=False,
        description="Also name the reader in each link (the footer says so; readers may opt out).",
    )
    track_opens: bool = Field(
        default=False, description="Add an open pixel; its count is reported as unreliable."
    )
    click_window: Duration = duration_field(
        "30m", "A click counts once per (link, client) in this window."
    )
    click_burst_links: int = Field(
        default=3,
        ge=2,
        description="This many links of one digest from one client, quickly: a machine.",
    )
    click_burst_seconds: int = Field(
        default=3, ge=1, description="…within this many seconds (the burst rule)."
    )
    clicks_per_ip_article_hour: int = Field(
        default=3,
        ge=1,
        description="People's clicks one client IP (an IPv6 /64) adds to one article per hour.",
    )
    link_scanners_file: Path | None = Field(
        default=None,
        description="Link-scanner user agents and networks (empty: the list in the package).",
    )
    retracted_notice_url: str = Field(
        default="", description="Where a click on a retracted article goes (empty: site_url)."
    )
    click_retention: Duration = duration_field(
        "90d", "Per-link hourly counts and per-reader clicks are kept this long, then aggregated."
    )
    most_viewed_sources: dict[str, float] = Field(
        default_factory=lambda: {"web": 1.0, "email": 1.0},
        description="Weight of each view source in the most-viewed ranking (web, email).",
    )

    @field_validator("most_viewed_sources")
    @classmethod
    def _known_sources(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name not in VIEW_SOURCES:
                raise ValueError(f"unknown view source {name!r} (known: {', '.join(VIEW_SOURCES)})")
            if not 0 <= weight <= 100:
                raise ValueError(f"{name}: weight must be between 0 and 100")
        return value
