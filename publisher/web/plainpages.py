"""Small self-contained HTML pages the app answers outside the reader templates: the landing
page at /, "not found" for browsers, and "sent from another site", "too large" and "bad
address" (web/guards.py).

They must render even when templates_dir is broken, so they are plain strings, escaped here.
"""

from __future__ import annotations

from html import escape

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;\
line-height:1.6;word-break:keep-all">
<h1 style="font-size:1.3rem">{title}</h1><p>{text}</p>{links}</body></html>
"""
TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "home_title": "{site} 뉴스레터",
        "home": "{site}의 뉴스를 이메일로 받아 보세요.",
        "subscribe": "뉴스레터 구독하기",
        "site": "{site} 홈으로",
        "not_found_title": "페이지를 찾을 수 없습니다",
        "not_found": "주소가 바뀌었거나 없는 페이지입니다.",
        "foreign_title": "다른 사이트에서 보낸 요청입니다",
        "foreign": "이 양식은 저희 사이트의 페이지에서만 보낼 수 있습니다. "
        "페이지를 직접 열어 다시 보내 주세요.",
        "too_large_title": "보낸 내용이 너무 깁니다",
        "too_large": "양식에 입력한 내용이 너무 깁니다. 줄여서 다시 보내 주세요.",
        "bad_address_title": "잘못된 주소입니다",
        "bad_address": "주소에 쓸 수 없는 문자가 들어 있습니다. 링크를 다시 확인해 주세요.",
    },
    "en": {
        "home_title": "{site} newsletter",
        "home": "Get the news from {site} by email.",
        "subscribe": "Subscribe to the newsletter",
        "site": "Back to {site}",
        "not_found_title": "Page not found",
        "not_found": "This address has changed, or there is no such page.",
        "foreign_title": "This request came from another site",
        "foreign": "This form can only be sent from our own pages. Open the page directly and "
        "send it again.",
        "too_large_title": "Too much to send",
        "too_large": "What was sent with this form is too long. Shorten it and send it again.",
        "bad_address_title": "Bad address",
        "bad_address": "This address holds a character no page address can. Check the link.",
    },
}


def wants_html(headers: Headers) -> bool:
    """A browser navigating (its Accept names text/html); API clients send */* or JSON."""
    return "text/html" in headers.get("accept", "")


def page(
    language: str, name: str, *, site: str = "", links: tuple[tuple[str, str], ...] = (),
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The page ``name`` (keys ``name`` and ``name_title``); ``links`` are (text key, URL)."""
    lang = language if language in TEXT else "en"
    text = TEXT[lang]
    items = "".join(
        f'<p><a href="{escape(url)}">{escape(text[key].format(site=site))}</a></p>'
        for key, url in links
    )
    html = PAGE.format(
        lang=lang, title=escape(text[f"{name}_title"].format(site=site)),
        text=escape(text[name].format(site=site)), links=items,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
