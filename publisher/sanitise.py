"""Text and HTML cleaning for incoming articles; the only module that imports nh3."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

# XML 1.0 forbids C0 controls except tab/LF/CR, U+FFFE/U+FFFF and lone surrogates; feeds and
# mail would break on them, so they never enter the store.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "div", "dl",
        "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed together with everything inside them (not just the tags).
_DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "noscript", "template"})

# One Cleaner for the process: building one costs about twice as much as a clean.
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    strip_comments=True,
    link_rel="noopener noreferrer",
)
# nh3 serialises every attribute as ` name="value"`, with `"`, `&`, `<` and `>` escaped, so on
# its output this finds the URL attributes; absolute ones (nh3 checked their scheme) are skipped.
# Text may hold the same characters, so a match counts only inside a tag.
_RELATIVE_URL = re.compile(r' (href|src|cite)="(?![a-zA-Z][a-zA-Z0-9+.-]*:)([^"]*)"')


def strip_illegal(text: str) -> str:
    """Remove the characters XML 1.0 forbids."""
    # Search first: most text has none, and a search costs half a substitution.
    return _XML_ILLEGAL.sub("", text) if _XML_ILLEGAL.search(text) else text


def clean_html(fragment: str, *, base_url: str) -> str:
    """Keep only the allow-listed tags and attributes; make links and images absolute.

    Scripts, styles and event handlers go; `javascript:` and other unknown URL schemes are
    dropped; relative `href`/`src`/`cite` values are resolved against ``base_url``.
    """
    cleaned = str(_CLEANER.clean(strip_illegal(fragment)))
    if '="' not in cleaned:
        return cleaned
    parts = urlsplit(base_url)
    usable = parts.scheme.lower() in URL_SCHEMES and bool(parts.netloc)
    # Values are still escaped as nh3 wrote them, so an escaped origin can go in front as is.
    origin = html.escape(f"{parts.scheme}://{parts.netloc}")

    def absolute(m: re.Match[str]) -> str:
        at = m.start()
        if cleaned.rfind("<", 0, at) < cleaned.rfind(">", 0, at):
            return m.group(0)  # not in a tag: text that only looks like an attribute
        value = m.group(2).strip()
        if usable and value.startswith("/") and not value.startswith("//"):
            return f' {m.group(1)}="{origin}{value}"'  # root-relative, the common case: cheaply
        try:
            resolved = urljoin(base_url, html.unescape(value))
        except ValueError:  # e.g. a broken [IPv6] host
            return ""
        if resolved.split(":", 1)[0].lower() not in URL_SCHEMES:
            return ""  # no usable base: drop the attribute rather than keep a relative URL
        return f' {m.group(1)}="{html.escape(resolved)}"'

    return _RELATIVE_URL.sub(absolute, cleaned)
