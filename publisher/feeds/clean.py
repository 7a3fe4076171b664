"""Defensive cleaning of text and HTML bound for feeds.

Intake already sanitises articles, but feeds are read by thousands of strict parsers, so every
string is cleaned again here: a store filled by an older version, a manual SQL fix or a
bug must never produce a feed that a reader rejects. The only home of lxml.html in publisher.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

# Everything XML 1.0 forbids: C0 controls but tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")
# Elements whose content is never article text.
_DROP = frozenset(
    {"script", "style", "iframe", "object", "embed", "form", "noscript", "template", "link",
     "meta", "base", "frame", "frameset", "applet"}
)  # fmt: skip
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:", "file:")
_URL_ATTRS = frozenset({"href", "src", "poster", "cite", "background", "longdesc", "action"})


def xml_safe(text: str | None) -> str:
    """``text`` without any character XML 1.0 forbids (also lone surrogates)."""
    if not text:
        return ""
    return _XML_ILLEGAL.sub("", text)


def plain(text: str | None, *, limit: int | None = None) -> str:
    """One line of XML-safe plain text, whitespace collapsed, optionally cut at ``limit``."""
    out = _SPACES.sub(" ", xml_safe(text)).strip()
    if limit is not None and len(out) > limit:
        out = out[: limit - 1].rstrip() + "…"
    return out


def absolute_url(url: str | None, *, base: str) -> str | None:
    """An absolute http(s) URL, or None when ``url`` cannot be made one."""
    cleaned = plain(url)
    if not cleaned:
        return None
    try:
        joined = cleaned if cleaned.startswith(("https://", "http://")) else urljoin(base, cleaned)
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return joined


def _absolute_link(value: str, base: str) -> str | None:
    """A link made absolute against ``base``; None for script-like schemes."""
    link = value.strip()
    if link.startswith(("https://", "http://")):
        return link  # the common case: no parsing
    if link.lower().startswith(_BAD_SCHEMES):
        return None
    if link.startswith("#") or link.lower().startswith(("mailto:", "tel:")):
        return link
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def clean_html(html: str | None, *, base_url: str) -> str:
    """HTML with no script/style/handlers, only absolute links, and only XML-legal characters."""
    text = xml_safe(html).strip()
    if not text:
        return ""
    try:
        root = lxml.html.fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError):
        return escape(plain(text))
    for el in list(root.iter()):
        if el is root:
            continue
        if not isinstance(el.tag, str) or el.tag.lower() in _DROP:
            el.drop_tree()  # keeps the tail text
            continue
        for name, value in list(el.attrib.items()):
            low = name.lower()
            if low.startswith("on") or low in ("style", "srcset"):
                del el.attrib[name]
            elif low in _URL_ATTRS:
                url = _absolute_link(value, base_url)
                if url is None:
                    del el.attrib[name]
                elif url != value:
                    el.attrib[name] = url
    out: str = lxml.html.tostring(root, encoding="unicode")
    return xml_safe(out[len("<div>") : -len("</div>")])


def html_to_text(html: str, *, limit: int) -> str:
    """A plain-text excerpt of cleaned HTML, for a summary the article does not have."""
    if not html:
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return plain(html, limit=limit)
    return plain(root.text_content(), limit=limit)


def image_figure(url: str, caption: str) -> str:
    """The article image as HTML, for the top of the content (many readers ignore media:*)."""
    alt = escape(caption, quote=True)
    img = f'<img src="{escape(url, quote=True)}" alt="{alt}">'
    if caption:
        return f"<figure>{img}<figcaption>{escape(caption)}</figcaption></figure>"
    return f"<figure>{img}</figure>"
