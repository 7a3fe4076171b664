"""Settings of the polled sources: one model per kind of source, and their group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from publisher.core.fieldchecks import Duration, duration_field, http_url

SOURCE_NAME = r"^[a-z0-9][a-z0-9-]*$"


class _SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(
        pattern=SOURCE_NAME, max_length=64, description="Unique name; prefixes feed entry ids."
    )


class FolderSource(_SourceBase):
    """A drop folder of *.json / *.jsonl files (the import formats)."""

    kind: Literal["folder"]
    path: Path = Field(description="The folder the CMS writes into.")
    settle_seconds: int = Field(
        default=10, ge=0, le=3600, description="A file modified more recently than this waits."
    )


class FeedSource(_SourceBase):
    """An upstream RSS or Atom feed."""

    kind: Literal["feed"]
    url: str = Field(description="The feed's URL.")
    section: str | None = Field(
        default=None, pattern=r"^[a-z0-9-]{1,64}$", description="Section of every entry."
    )

    _url = field_validator("url")(http_url)


class JsonSource(_SourceBase):
    """An HTTP endpoint answering a JSON array of article objects."""

    kind: Literal["json"]
    url: str = Field(description="The endpoint's URL.")
    since_param: str = Field(
        default="since", min_length=1, description="Query parameter carrying the cursor."
    )

    _url = field_validator("url")(http_url)


SourceConfig = Annotated[FolderSource | FeedSource | JsonSource, Field(discriminator="kind")]


class SourceSettings(BaseModel):
    # --- sources ---
    sources: list[SourceConfig] = Field(
        default=[], description="Polled sources of articles (folder, feed, json); see README."
    )
    collect_backoff_base: Duration = duration_field(
        "1m", "Wait after a source's first failed poll; doubles with each further failure."
    )
    collect_backoff_max: Duration = duration_field(
        "1h", "Longest wait between polls of a failing source."
    )
    source_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds an HTTP source may take to answer."
    )
    source_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest HTTP source response accepted."
    )

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, value: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for i, source in enumerate(value):
            if source.name in seen:
                raise ValueError(f"[{i}]: duplicate source name {source.name!r}")
            seen.add(source.name)
        return value
