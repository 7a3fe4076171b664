"""feeds/index.html: every feed listed, with <link rel="alternate"> tags for autodiscovery."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from publisher.config import Settings
from publisher.feeditems import FORMATS, FeedFormat
from publisher.feedscopes import Scope, feeds_base_url, text

MEDIA_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
_LABELS: dict[FeedFormat, str] = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def autodiscovery_tags(settings: Settings, scopes: Sequence[Scope]) -> list[str]:
    """The <link rel="alternate"> tags a page's <head> carries so readers find the feeds."""
    base = feeds_base_url(settings)
    return [
        f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" '
        f'title="{escape(f"{scope.title} ({_LABELS[fmt]})")}" '
        f'href="{escape(base + scope.path(fmt))}">'
        for scope in scopes
        for fmt in FORMATS
    ]


def render_index(settings: Settings, scopes: Sequence[Scope]) -> bytes:
    base = feeds_base_url(settings)
    title = f"{settings.site_name} {text(settings, 'feeds')}"
    rows = []
    for scope in scopes:
        links = " · ".join(
            f'<a href="{escape(base + scope.path(fmt))}" type="{MEDIA_TYPES[fmt]}">'
            f"{_LABELS[fmt]}</a>"
            for fmt in FORMATS
        )
        rows.append(
            f"<li><strong>{escape(scope.title)}</strong>"
            f" <span>{escape(scope.description)}</span><br>{links}</li>"
        )
    head = "\n".join("  " + tag for tag in autodiscovery_tags(settings, scopes))
    body = "\n".join("  " + row for row in rows)
    page = f"""<!doctype html>
<html lang="{escape(settings.language)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)}</title>
{head}
</head>
<body>
<h1>{escape(title)}</h1>
<p><a href="{escape(settings.site_url)}">{escape(settings.site_name)}</a></p>
<ul>
{body}
</ul>
</body>
</html>
"""
    return page.encode("utf-8")
