"""Build every enabled feed: store → items → bytes → files, doing nothing when nothing changed.

Each scope has a fingerprint: the settings signature plus the (id, updated_at) of the entries
it would show, in order (for "popular" that order is the view ranking). When the fingerprint
and the files on disk (size, mtime) match the last build's state, the scope is neither
rendered nor written. The state lives in memory and in ``feeds_dir/.feedstate.json``, so a
fresh process (the CLI) is just as cheap. The most-viewed ranking is recomputed only when the
view data in its window changed (see feed_queries.views_signature).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from publisher.core.config import Settings
from publisher.core.models import Article
from publisher.feeds.formats import render_feed
from publisher.feeds.index import render_index
from publisher.feeds.items import FORMATS, FeedItem, prepare_items
from publisher.feeds.partner import build_partner
from publisher.feeds.scopes import (
    Scope,
    config_signature,
    feed_meta,
    feeds_base_url,
    make_scopes,
    tag_scheme,
)
from publisher.feeds.sitemaps import SitemapBuilder
from publisher.feeds.writer import file_stamp, fsync_dir, write_if_changed
from publisher.store.articles import latest_articles, list_sections
from publisher.store.feed_queries import (
    FeedKey,
    latest_keys,
    popular_keys,
    published_keys,
    views_signature,
)
from publisher.store.pageviews import top_articles
from publisher.store.types import Connection, Engine

log = logging.getLogger(__name__)
STATE_FILE = ".feedstate.json"
INDEX = "index.html"


@dataclass(frozen=True, slots=True)
class FeedResult:
    path: str  # relative to feeds_dir
    url: str
    items: int
    changed: bool
    bytes: int
    kind: str = "feed"  # feed | sitemap | partner: WebSub hubs hear of feeds only


@dataclass
class _Plan:
    scope: Scope
    fingerprint: str
    articles: list[Article] | None = None  # None: unchanged, nothing to render
    extra: dict[str, Any] = field(default_factory=dict)  # popular: ids and views signature


@dataclass
class BuildState:
    config: str = ""
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BuildState:
        try:
            raw = json.loads(path.read_text("utf-8"))
            return cls(config=str(raw["config"]), scopes=dict(raw["scopes"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()  # missing or damaged: the next build simply renders everything

    def dump(self) -> bytes:
        blob = {"config": self.config, "scopes": self.scopes}
        return json.dumps(blob, sort_keys=True, indent=1).encode("utf-8")


def _fingerprint(signature: str, scope: Scope, keys: Sequence[FeedKey]) -> str:
    h = hashlib.sha256(f"{signature}\x1e{scope.key}\x1e{scope.title}\x1e".encode())
    for external_id, updated in keys:
        h.update(f"{external_id}\x1f{updated}\x1e".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class FeedBuilder:
    """Reusable across builds (the daemon keeps one; its state then stays in memory)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.root = Path(settings.feeds_dir)
        self._state: BuildState | None = None
        self.sitemaps = SitemapBuilder(settings, engine)

    @property
    def state(self) -> BuildState:
        if self._state is None:
            self._state = BuildState.load(self.root / STATE_FILE)
        return self._state

    def _intact(self, entry: dict[str, Any]) -> bool:
        files: dict[str, list[int]] = entry.get("files", {})
        return len(files) == len(FORMATS) and all(
            file_stamp(self.root / rel) == stamp for rel, stamp in files.items()
        )

    def _plan(self, now: datetime, force: bool) -> tuple[list[Scope], list[_Plan]]:
        s = self.settings
        signature = config_signature(s)
        fresh = force or self.state.config != signature
        plans: list[_Plan] = []
        # One connection (one snapshot) for every read; rendering happens after it closes.
        with self.engine.connect() as conn:
            scopes = make_scopes(s, list_sections(conn))
            for scope in scopes:
                old = self.state.scopes.get(scope.key)
                reusable = old if old and not fresh and self._intact(old) else None
                if scope.popular:
                    plans.append(self._plan_popular(conn, scope, signature, reusable, now))
                    continue
                keys = latest_keys(conn, limit=s.feed_items, section=scope.section)
                fp = _fingerprint(signature, scope, keys)
                if reusable and reusable.get("fp") == fp:
                    plans.append(_Plan(scope, fp))
                    continue
                found = latest_articles(conn, limit=s.feed_items, section=scope.section)
                plans.append(_Plan(scope, fp, found))
        return scopes, plans

    def _plan_popular(
        self,
        conn: Connection,
        scope: Scope,
        signature: str,
        old: dict[str, Any] | None,
        now: datetime,
    ) -> _Plan:
        """The ranking is an aggregate over every view in the window, the one costly read of a
        no-change build: skip it while the view data and the ranked articles are untouched."""
        window = self.settings.popular_window
        views = views_signature(conn, now=now, window=window)
        if old and old.get("views") == views:
            ids: list[str] = old.get("ids", [])
            current = published_keys(conn, ids)
            if len(current) == len(ids):
                fp = _fingerprint(signature, scope, [(i, current[i]) for i in ids])
                if fp == old.get("fp"):
                    return _Plan(scope, fp, extra={"ids": ids, "views": views})
        weights = self.settings.most_viewed_sources
        keys = popular_keys(
            conn, now=now, window=window, limit=self.settings.feed_items, weights=weights
        )
        fp = _fingerprint(signature, scope, keys)
        extra = {"ids": [k[0] for k in keys], "views": views}
        if old and old.get("fp") == fp:
            return _Plan(scope, fp, extra=extra)
        ranked = top_articles(
            conn, now=now, window=window, limit=self.settings.feed_items, weights=weights
        )
        return _Plan(scope, fp, [r.article for r in ranked], extra)

    def build(self, *, now: datetime, force: bool = False) -> list[FeedResult]:
        """Build every enabled feed and the index; return one result per file."""
        s = self.settings
        base = feeds_base_url(s)
        scopes, plans = self._plan(now, force)
        state = self.state
        state.config = config_signature(s)
        cache: dict[tuple[str, datetime], FeedItem] = {}
        tags = tag_scheme(s)
        results: list[FeedResult] = []
        touched: set[Path] = set()
        for plan in plans:
            scope = plan.scope
            if plan.articles is None:
                old = state.scopes[scope.key]
                old.update(plan.extra)
                for fmt in FORMATS:
                    rel = scope.path(fmt)
                    size = old["files"][rel][0]
                    results.append(FeedResult(rel, base + rel, old["items"], False, size))
                continue
            items = prepare_items(
                plan.articles, tags=tags, tz=s.tz, full_text=s.feed_full_text,
                site_url=s.site_url, cache=cache,
            )  # fmt: skip
            meta = feed_meta(s, scope, items)
            files: dict[str, list[int] | None] = {}
            for fmt in FORMATS:
                rel = scope.path(fmt)
                data = render_feed(fmt, meta, items)
                changed = write_if_changed(self.root / rel, data, force=force, sync_dir=False)
                if changed:
                    touched.add((self.root / rel).parent)
                files[rel] = file_stamp(self.root / rel)
                results.append(FeedResult(rel, base + rel, len(items), changed, len(data)))
            state.scopes[scope.key] = {
                "fp": plan.fingerprint,
                "items": len(items),
                "files": files,
                **plan.extra,
            }
        index = render_index(s, scopes)
        changed = write_if_changed(self.root / INDEX, index, force=force)
        results.append(FeedResult(INDEX, base + INDEX, len(scopes), changed, len(index)))
        live = {scope.key for scope in scopes}
        for key in [k for k in state.scopes if k not in live]:
            del state.scopes[key]  # a disabled scope's old files are left in place
        for folder in sorted(touched):
            fsync_dir(folder)
        write_if_changed(self.root / STATE_FILE, state.dump())
        return results

    def build_syndication(self, *, now: datetime, force: bool = False) -> list[FeedResult]:
        """The sitemaps and the partner MRSS feed (issue 17), as cheap as the feeds when
        nothing changed."""
        out = [
            FeedResult(f.path, f.url, f.urls, f.changed, f.bytes, "sitemap")
            for f in self.sitemaps.build(now=now, force=force)
        ]
        partner = build_partner(self.settings, self.engine, now=now, force=force)
        if partner is not None:
            out.append(FeedResult(partner.path, partner.url, partner.items, partner.changed,
                                  partner.bytes, "partner"))  # fmt: skip
        return out


def build_feeds(
    settings: Settings, engine: Engine, *, now: datetime, force: bool = False
) -> list[FeedResult]:
    """One-shot build (the CLI): state comes from and goes to feeds_dir/.feedstate.json."""
    return FeedBuilder(settings, engine).build(now=now, force=force)
