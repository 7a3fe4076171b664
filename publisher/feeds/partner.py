"""The partner feed (issue 17): ``feeds_dir/partner.xml``, an MRSS profile for portals and
aggregators that republish full articles (Flipboard, MSN Partner Hub).

Full text as ``feed_full_text`` says, like the public feeds: the file is public. A partner that
licenses the whole article while the public feeds carry summaries gets it from the ninjs API
with an API key. The newest ``feed_items`` published articles. Cheap when nothing changed,
like the other feeds: a fingerprint of the settings and the (id, updated) keys, kept in
``feeds_dir/.partnerstate.json`` with the file's size and mtime.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.core.config import Settings
from publisher.feeds.formats import render_partner
from publisher.feeds.items import FORMATS, FeedItem, FeedMeta, prepare_items
from publisher.feeds.scopes import EMPTY_FEED_DATE, config_signature, feeds_base_url, tag_scheme
from publisher.feeds.writer import file_stamp, write_if_changed
from publisher.store.articles import latest_articles
from publisher.store.feed_queries import latest_keys
from publisher.store.types import Engine

PARTNER = "partner.xml"
STATE_FILE = ".partnerstate.json"


@dataclass(frozen=True, slots=True)
class PartnerResult:
    path: str
    url: str
    items: int
    changed: bool
    bytes: int


def partner_meta(settings: Settings, items: list[FeedItem]) -> FeedMeta:
    url = feeds_base_url(settings) + PARTNER
    newest = max((i.updated for i in items), default=EMPTY_FEED_DATE)
    return FeedMeta(
        id=tag_scheme(settings).feed("partner"),
        title=settings.site_name,
        description=settings.feed_description or settings.site_name,
        site_url=settings.site_url,
        urls=dict.fromkeys(FORMATS, url),
        language=settings.language,
        updated=newest.astimezone(settings.tz),
        ttl=settings.feed_ttl,
        logo_url=settings.feed_logo_url,
    )


def build_partner(
    settings: Settings, engine: Engine, *, now: datetime, force: bool = False
) -> PartnerResult | None:
    """Write partner.xml when its articles or settings changed; None when turned off."""
    if not settings.partner_feed:
        return None
    root = Path(settings.feeds_dir)
    path, state_path = root / PARTNER, root / STATE_FILE
    url = feeds_base_url(settings) + PARTNER
    with engine.connect() as conn:
        keys = latest_keys(conn, limit=settings.feed_items)
        h = hashlib.sha256(f"partner\x1e{config_signature(settings)}\x1e".encode())
        for external_id, stamp in keys:
            h.update(f"{external_id}\x1f{stamp}\x1e".encode("utf-8", "surrogatepass"))
        fp = h.hexdigest()
        try:
            old = json.loads(state_path.read_text("utf-8"))
        except (OSError, ValueError):
            old = {}
        if not force and old.get("fp") == fp and old.get("file") == file_stamp(path):
            return PartnerResult(PARTNER, url, int(old.get("items", 0)), False, old["file"][0])
        found = latest_articles(conn, limit=settings.feed_items)
    items = prepare_items(
        found, tags=tag_scheme(settings), tz=settings.tz, full_text=settings.feed_full_text,
        site_url=settings.site_url,
    )  # fmt: skip
    data = render_partner(partner_meta(settings, items), items)
    changed = write_if_changed(path, data, force=force)
    state = {"fp": fp, "file": file_stamp(path), "items": len(items)}
    write_if_changed(state_path, json.dumps(state).encode("utf-8"))
    return PartnerResult(PARTNER, url, len(items), changed, len(data))
