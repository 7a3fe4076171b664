"""Text and HTML cleaning for incoming articles; the only module that imports nh3."""

from __future__ import annotations

import re
from contextvars import ContextVar
from urllib.parse import urljoin

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
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
# Removed together with everything inside them (not just the tags).
_DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "noscript", "template"})


def strip_illegal(text: str) -> str:
    """Remove the characters XML 1.0 forbids."""
    return _XML_ILLEGAL.sub("", text)


def _absolute(tag: str, attribute: str, value: str) -> str | None:
    if attribute not in _URL_ATTRIBUTES:
        return value
    resolved = urljoin(_base_url.get(), value.strip())
    scheme = resolved.split(":", 1)[0].lower()
    return resolved if scheme in URL_SCHEMES else None


# One Cleaner for the process: building one costs about twice as much as a clean. The base URL
# reaches the attribute filter through a context variable, so threads don't mix them up.
_base_url: ContextVar[str] = ContextVar("base_url", default="")
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_absolute,
    url_schemes=set(URL_SCHEMES),
    strip_comments=True,
    link_rel="noopener noreferrer",
)


def clean_html(html: str, *, base_url: str) -> str:
    """Keep only the allow-listed tags and attributes; make links and images absolute.

    Scripts, styles and event handlers go; `javascript:` and other unknown URL schemes are
    dropped; relative `href`/`src`/`cite` values are resolved against ``base_url``.
    """
    token = _base_url.set(base_url)
    try:
        return str(_CLEANER.clean(strip_illegal(html)))
    finally:
        _base_url.reset(token)
