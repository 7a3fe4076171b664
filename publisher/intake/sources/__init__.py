"""Polled sources of articles: a drop folder, an upstream RSS/Atom feed, a JSON endpoint.

Each kind is one module with a ``poll`` that registers what it finds through the intake
pipeline and returns what the source must remember for next time (publisher.store.sources).
"""

from __future__ import annotations

from publisher.core.config import FeedSource, FolderSource, JsonSource, SourceConfig
from publisher.intake.sources.base import Fetcher, PollContext, PollResult, Source, SourceError
from publisher.intake.sources.feed import FeedPoller
from publisher.intake.sources.folder import FolderPoller
from publisher.intake.sources.jsonapi import JsonPoller

__all__ = [
    "Fetcher", "PollContext", "PollResult", "Source", "SourceError", "make_source",
]  # fmt: skip


def make_source(config: SourceConfig) -> Source:
    if isinstance(config, FolderSource):
        return FolderPoller(config)
    if isinstance(config, FeedSource):
        return FeedPoller(config)
    assert isinstance(config, JsonSource)
    return JsonPoller(config)
