"""Polled sources of articles: a drop folder, an upstream RSS/Atom feed, a JSON endpoint.

Each kind is one module with a ``poll`` that registers what it finds through the intake
pipeline and returns what the source must remember for next time (publisher.store.sources).
"""

from __future__ import annotations

from publisher.config import FeedSource, FolderSource, JsonSource, SourceConfig
from publisher.sources.base import Fetcher, PollContext, PollResult, Source, SourceError
from publisher.sources.feed import FeedPoller
from publisher.sources.folder import FolderPoller
from publisher.sources.jsonapi import JsonPoller

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
