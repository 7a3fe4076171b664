"""render_feed(): FeedMeta + FeedItems → RSS 2.0, Atom 1.0 or JSON Feed 1.1 bytes. Pure.

The only home of feedgen. What feedgen would get wrong by default is set explicitly:
- entries are appended (feedgen prepends by default), so the caller's order is kept;
- every date comes from the items (feedgen stamps ``now`` on lastBuildDate and entries);
- rel="self" goes first, the site's alternate link last (feedgen makes the last link the
  RSS channel link), and RSS gets its hub links through a small extension, since feedgen
  writes only the self link into RSS;
- every string is made XML-safe again here, whatever the caller passed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem  # feedgen's own lxml helper: lxml stays in clean.py

from publisher.feeds.clean import xml_safe
from publisher.feeds.items import FeedFormat, FeedItem, FeedMeta
from publisher.feeds.jsonfeed import render_json_feed

log = logging.getLogger(__name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
_EXT = "publisher"
_PARTNER_EXT = "publisher_partner"


def _dt(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Namespaces for the entries, and RSS hub links."""

    def __init__(self) -> None:
        self.hubs: tuple[str, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "dc": DC_NS}

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        for hub in self.hubs:
            xml_elem(f"{{{ATOM_NS}}}link", channel, href=hub, rel="hub")
        return feed


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """dc:creator (RSS <author> must be an e-mail address) and media:content with caption."""

    def __init__(self) -> None:
        self.creator = ""
        self.image: tuple[str, str | None, int | None, str] | None = None
        self.enclosure: tuple[str, str, str] | None = None  # Atom only: see _entry()

    def _media(self, entry: Any) -> None:
        if self.image is None:
            return
        url, mime, length, caption = self.image
        media = xml_elem(f"{{{MEDIA_NS}}}content", entry, url=url, medium="image")
        if mime:
            media.set("type", mime)
        if length:
            media.set("fileSize", str(length))
        if caption:
            desc = xml_elem(f"{{{MEDIA_NS}}}description", media, type="plain")
            desc.text = caption

    def extend_rss(self, entry: Any) -> Any:
        if self.creator:
            xml_elem(f"{{{DC_NS}}}creator", entry).text = self.creator
        self._media(entry)
        return entry

    def extend_atom(self, entry: Any) -> Any:
        if self.enclosure is not None:
            url, length, mime = self.enclosure
            # feedgen builds Atom entries without a namespace; the feed's default one applies.
            xml_elem("link", entry, rel="enclosure", href=url, type=mime, length=length)
        self._media(entry)
        return entry


def _channel(meta: FeedMeta, fmt: FeedFormat) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension(_EXT, _FeedExtension, _EntryExtension)
    ext: _FeedExtension = getattr(fg, _EXT)
    ext.hubs = tuple(xml_safe(h) for h in meta.hubs) if fmt == "rss" else ()
    fg.id(xml_safe(meta.id))
    fg.title(xml_safe(meta.title))
    fg.description(xml_safe(meta.description) or xml_safe(meta.title))
    fg.subtitle(xml_safe(meta.description) or xml_safe(meta.title))
    fg.language(meta.language)
    self_type = "application/rss+xml" if fmt == "rss" else "application/atom+xml"
    fg.link(href=xml_safe(meta.urls[fmt]), rel="self", type=self_type)
    if fmt == "atom":
        for hub in meta.hubs:
            fg.link(href=xml_safe(hub), rel="hub")
    fg.link(href=xml_safe(meta.site_url), rel="alternate")  # last: the RSS channel link
    fg.lastBuildDate(_dt(meta.updated))
    fg.updated(_dt(meta.updated))
    fg.generator(meta.generator, version=meta.generator_version or None,
                 uri=meta.generator_uri or None)  # fmt: skip
    if meta.ttl:
        fg.ttl(meta.ttl)
    if meta.logo_url:
        logo = xml_safe(meta.logo_url)
        fg.image(url=logo, title=xml_safe(meta.title), link=xml_safe(meta.site_url))
        fg.logo(logo)
    return fg


def _entry(fe: FeedEntry, item: FeedItem, fmt: FeedFormat) -> None:
    fe.id(xml_safe(item.id))  # also the RSS guid, isPermaLink="false"
    fe.title(xml_safe(item.title) or xml_safe(item.id))
    fe.link(href=xml_safe(item.url), rel="alternate")
    fe.published(_dt(item.published))
    fe.updated(_dt(item.updated))
    if item.author:
        fe.author(name=xml_safe(item.author))
    for c in item.categories:
        cat: dict[str, str] = {"term": xml_safe(c.term), "label": xml_safe(c.label)}
        if c.scheme:
            cat["scheme"] = xml_safe(c.scheme)
        fe.category(**cat)
    if item.content_html:
        fe.content(xml_safe(item.content_html), type="html")
    if item.summary:
        fe.summary(xml_safe(item.summary))
    elif not item.content_html:
        fe.description(xml_safe(item.title) or xml_safe(item.id), isSummary=True)
    ext: _EntryExtension = getattr(fe, _EXT)
    if item.image_url and item.image_length and item.image_type:
        enclosure = (xml_safe(item.image_url), str(item.image_length), xml_safe(item.image_type))
        if fmt == "rss":
            fe.enclosure(*enclosure)
        else:  # feedgen writes Atom entry links without rel: the enclosure would be "alternate"
            ext.enclosure = enclosure
    ext.creator = xml_safe(item.author)
    if item.image_url:
        ext.image = (
            xml_safe(item.image_url),
            xml_safe(item.image_type) or None,
            item.image_length,
            xml_safe(item.image_caption),
        )


class _PartnerFeedExtension(BaseExtension):  # type: ignore[misc]
    """The dcterms namespace, for the partner profile only (the other feeds stay as they are)."""

    def extend_ns(self) -> dict[str, str]:
        return {"dcterms": DCTERMS_NS}


class _PartnerEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """MRSS for partner portals: the image's width, height and credit on media:content, and
    dcterms:modified. Runs after _EntryExtension, which wrote media:content."""

    def __init__(self) -> None:
        self.modified: datetime | None = None
        self.size: tuple[int, int] | None = None
        self.credit = ""

    def extend_rss(self, entry: Any) -> Any:
        media = entry.find(f"{{{MEDIA_NS}}}content")
        if media is not None:
            if self.size is not None:
                media.set("width", str(self.size[0]))
                media.set("height", str(self.size[1]))
            if self.credit:
                credit = xml_elem(f"{{{MEDIA_NS}}}credit", media, role="photographer")
                credit.text = self.credit
                # media:credit goes before media:description, as the MRSS examples order them
                media.remove(credit)
                media.insert(0, credit)
        if self.modified is not None:
            xml_elem(f"{{{DCTERMS_NS}}}modified", entry).text = self.modified.isoformat()
        return entry


def render_partner(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The partner MRSS profile (Flipboard, MSN Partner Hub): RSS 2.0 with the full text in
    content:encoded, media:content with width, height, media:credit and media:description,
    and dcterms:modified per item. Items given with their full text."""
    fg = _channel(meta, "rss")
    fg.register_extension(_PARTNER_EXT, _PartnerFeedExtension, _PartnerEntryExtension)
    for item in items:
        fe = fg.add_entry(order="append")
        try:
            _entry(fe, item, "rss")
            partner: _PartnerEntryExtension = getattr(fe, _PARTNER_EXT)
            partner.modified = _dt(item.updated)
            if item.image_width and item.image_height:
                partner.size = (item.image_width, item.image_height)
            partner.credit = xml_safe(item.image_credit)
        except Exception:  # isolation: a bad entry never costs the whole feed
            log.exception("partner feed: entry %r skipped", item.id)
            fg.remove_entry(fe)
    return _serialise(fg, "rss")


def _serialise(fg: FeedGenerator, fmt: FeedFormat) -> bytes:
    out = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    assert isinstance(out, bytes)
    return out


def render_feed(fmt: FeedFormat, meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The feed as bytes. Items keep their order; one that cannot be rendered is logged and
    left out, and the rest of the feed is still produced."""
    if fmt == "json":
        return render_json_feed(meta, items)
    fg = _channel(meta, fmt)
    for item in items:
        fe = fg.add_entry(order="append")
        try:
            _entry(fe, item, fmt)
        except Exception:  # isolation: a bad entry never costs the whole feed
            log.exception("feed %s: entry %r skipped", meta.urls[fmt], item.id)
            fg.remove_entry(fe)
    try:
        return _serialise(fg, fmt)
    except (ValueError, TypeError):
        pass
    # Some entry fails only at serialisation: find and drop it (rare, so the slow path).
    for fe in list(fg.entry()):
        try:
            fe.rss_entry() if fmt == "rss" else fe.atom_entry()
        except (ValueError, TypeError):
            log.exception("feed %s: entry %r skipped", meta.urls[fmt], fe.id())
            fg.remove_entry(fe)
    return _serialise(fg, fmt)
