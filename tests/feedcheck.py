"""Strict checks every produced feed must pass; shared by the feed tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
from lxml import etree

# feedparser accepts bad RFC 822 dates with bozo == 0, so dates are checked here.
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")
ATOM = "{http://www.w3.org/2005/Atom}"
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class Entry:
    id: str
    link: str
    title: str
    published: datetime
    updated: datetime | None


def _rfc822(text: str | None) -> datetime:
    assert text is not None and RFC822.match(text), f"not an RFC 822 date with offset: {text!r}"
    return parsedate_to_datetime(text)


def _rfc3339(text: str | None) -> datetime:
    assert text is not None and RFC3339.match(text), f"not an RFC 3339 date: {text!r}"
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert at.tzinfo is not None
    return at


def strict_xml(data: bytes) -> Any:
    return etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))


def _feedparser(data: bytes) -> Any:
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def check_rss(data: bytes) -> list[Entry]:
    root = strict_xml(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    links = channel.findall(f"{ATOM}link")
    assert links and links[0].get("rel") == "self", "atom:link rel=self first"
    _rfc822(channel.findtext("lastBuildDate"))
    entries = []
    for item in channel.findall("item"):
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        entries.append(
            Entry(guid.text or "", item.findtext("link") or "", item.findtext("title") or "",
                  _rfc822(item.findtext("pubDate")), None)
        )  # fmt: skip
    parsed = _feedparser(data)
    assert [e.id for e in parsed.entries] == [e.id for e in entries]
    assert [e.link for e in parsed.entries] == [e.link for e in entries]
    assert parsed.feed.get("link", "").startswith("http")
    return entries


def check_atom(data: bytes) -> list[Entry]:
    root = strict_xml(data)
    assert root.tag == f"{ATOM}feed"
    rels = [ln.get("rel") for ln in root.findall(f"{ATOM}link")]
    assert rels[0] == "self" and rels[-1] == "alternate"
    _rfc3339(root.findtext(f"{ATOM}updated"))
    entries = []
    for e in root.findall(f"{ATOM}entry"):
        link = next(ln.get("href") for ln in e.findall(f"{ATOM}link")
                    if ln.get("rel", "alternate") == "alternate")  # fmt: skip
        entries.append(
            Entry(e.findtext(f"{ATOM}id") or "", link, e.findtext(f"{ATOM}title") or "",
                  _rfc3339(e.findtext(f"{ATOM}published")),
                  _rfc3339(e.findtext(f"{ATOM}updated")))
        )  # fmt: skip
    parsed = _feedparser(data)
    assert [e.id for e in parsed.entries] == [e.id for e in entries]
    assert [e.link for e in parsed.entries] == [e.link for e in entries]
    return entries


def check_json(data: bytes) -> list[Entry]:
    feed = json.loads(data.decode("utf-8"))
    assert feed["version"] == JSONFEED_VERSION
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    entries = []
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item or "content_text" in item
        entries.append(
            Entry(item["id"], item["url"], item["title"], _rfc3339(item["date_published"]),
                  _rfc3339(item["date_modified"]))
        )  # fmt: skip
    return entries


def check_feed(name: str, data: bytes) -> list[Entry]:
    """Check a feed by its file name; return its entries. Ids are unique in every feed."""
    if name.endswith("rss.xml"):
        entries = check_rss(data)
    elif name.endswith("atom.xml"):
        entries = check_atom(data)
    else:
        entries = check_json(data)
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)), f"duplicate ids in {name}"
    return entries
