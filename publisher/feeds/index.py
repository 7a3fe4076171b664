"""feeds/index.html: every feed listed, with <link rel="alternate"> tags for autodiscovery."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from publisher.core.config import Settings
from publisher.feeds.items import FORMATS, FeedFormat
from publisher.feeds.scopes import Scope, feeds_base_url, text, window_text

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


# The reader pages' look (templates/web/base.html.j2), cut to what this page uses: inline, so
# the static file needs nothing else wherever it is served from.
_STYLE = """\
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0;
  font: 16px/1.6 "Apple SD Gothic Neo", "Malgun Gothic", "맑은 고딕", system-ui, sans-serif;
  color: #1f2328; background: #f4f5f7; word-break: keep-all; overflow-wrap: anywhere; }
header, main { max-width: 36rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
a { color: #0b4f9c; }
.site { font-weight: bold; font-size: 1.1rem; text-decoration: none; color: #1f2328; }
main { background: #fff; border: 1px solid #d0d7de; border-radius: 6px;
  padding: 1.25rem 1.25rem 1.5rem; margin-top: .75rem; margin-bottom: 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .75rem; line-height: 1.3; }
.hint { color: #57606a; font-size: .9rem; margin: .25rem 0 1rem; }
.feed { border-left: 4px solid #0b4f9c; padding: .1rem 0 .1rem .8rem; margin: 0 0 1rem; }
.feed h2 { font-size: 1.1rem; margin: 0 0 .25rem; }
.feed p { margin: 0; color: #57606a; font-size: .95rem; }
"""
_PAGE_TEXT = {
    "ko": {"intro": "아래 주소 중 하나를 피드 리더에 추가하세요.", "site": "전체 기사",
           "popular": "최근 {window} 동안 많이 본 기사"},
    "en": {"intro": "Add one of these addresses to your feed reader.", "site": "All articles",
           "popular": "Most viewed in the last {window}"},
}  # fmt: skip


def render_index(settings: Settings, scopes: Sequence[Scope]) -> bytes:
    """The page a reader opens at feeds/: the site name once (the header), each feed by its
    own name (a feed's channel title and description repeat the site name for feed readers)."""
    words = _PAGE_TEXT.get(settings.language, _PAGE_TEXT["ko"])
    heading = text(settings, "feeds")
    head = "\n".join("  " + tag for tag in autodiscovery_tags(settings, scopes))
    body = "\n".join(_entry(settings, scope, words) for scope in scopes)
    page = f"""<!doctype html>
<html lang="{escape(settings.language)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(heading)} · {escape(settings.site_name)}</title>
{head}
<style>
{_STYLE}</style>
</head>
<body>
<header><a class="site" href="{escape(settings.site_url)}">{escape(settings.site_name)}</a></header>
<main>
<h1>{escape(heading)}</h1>
<p class="hint">{escape(words["intro"])}</p>
{body}
</main>
</body>
</html>
"""
    return page.encode("utf-8")


def _entry(settings: Settings, scope: Scope, words: dict[str, str]) -> str:
    base = feeds_base_url(settings)
    links = " · ".join(
        f'<a href="{escape(base + scope.path(fmt))}" type="{MEDIA_TYPES[fmt]}">{_LABELS[fmt]}</a>'
        for fmt in FORMATS
    )
    note = ""
    if scope.key == "site":
        name, note = words["site"], settings.feed_description  # the operator's own words
    elif scope.popular:
        name = text(settings, "popular")
        note = words["popular"].format(window=window_text(settings))
    else:  # a section: its channel title is "<site> - <section name>"
        name = scope.title.removeprefix(f"{settings.site_name} - ")
    lines = [f"<h2>{escape(name)}</h2>"]
    if note:
        lines.append(f"<p>{escape(note)}</p>")
    lines.append(f"<p>{links}</p>")
    return '<div class="feed">\n  ' + "\n  ".join(lines) + "\n</div>"
