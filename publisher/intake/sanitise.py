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
# nh3 (0.3.7 and later) serialises every attribute as ` name="value"`, with `"`, `&`, `<` and
# `>` escaped, so on its output this finds the URL attributes; absolute ones (nh3 checked their
# scheme) are skipped. Text may hold the same characters, so a match counts only inside a tag.
_RELATIVE_URL = re.compile(r' (href|src|cite)="(?![a-zA-Z][a-zA-Z0-9+.-]*:)([^"]*)"')
# A root-relative path that unescaping, trimming and escaping again would leave as it is.
_PLAIN_PATH = re.compile(r"/(?!/)[^&'<>]*(?<!\s)")


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
    origin = f"{parts.scheme}://{parts.netloc}"
    # Most links are plain root-relative paths: the escaped origin goes in front as they are.
    # Whatever the path, the output is what it has always been, so content hashes of stored
    # articles do not change (a re-import would report them as updated).
    plain_prefix = html.escape(origin) if parts.scheme in ("http", "https") else None

    def absolute(m: re.Match[str]) -> str:
        at = m.start()
        if cleaned.rfind("<", 0, at) < cleaned.rfind(">", 0, at):
            return m.group(0)  # not in a tag: text that only looks like an attribute
        if plain_prefix is not None and _PLAIN_PATH.fullmatch(m.group(2)):
            return f' {m.group(1)}="{plain_prefix}{m.group(2)}"'
        value = html.unescape(m.group(2)).strip()
        try:
            if value.startswith("/") and not value.startswith("//"):
                resolved = origin + value
            else:
                resolved = urljoin(base_url, value)
        except ValueError:  # e.g. a broken [IPv6] host
            return " "
        if resolved.split(":", 1)[0].lower() not in URL_SCHEMES:
            return " "  # no usable base: drop the attribute rather than keep a relative URL
        return f' {m.group(1)}="{html.escape(resolved)}"'

    return _RELATIVE_URL.sub(absolute, cleaned)
