"""Email rendering: the only home of Jinja2 and premailer.

Each digest variant is rendered and inlined once; per-recipient links arrive as placeholder
strings and are filled in at send time. Templates live in ``templates/email/``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import jinja2
from premailer import Premailer

from publisher.core.models import Article, Selection
from publisher.render.htmllines import wrap_lines
from publisher.render.textwidth import wrap
from publisher.render.translations import MAIL_STRINGS, ko_date, local_date, local_time

log = logging.getLogger("publisher.render.templates")

CSS_FILE = "email.css"
TEXT_COLS = 72
SUMMARY_TRIM = 80  # characters kept when the first trimming step shortens summaries
THUMB_W, THUMB_H = 120, 80
_STYLE = re.compile(r"<style\b.*?</style>", re.S | re.I)
_IMPORT = re.compile(r"@import\b[^;]*;?", re.I)


@dataclass(frozen=True, slots=True)
class Links:
    view_in_browser: str
    preferences: str = ""
    unsubscribe: str = ""


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    preheader: str = ""
    summaries_trimmed: bool = False
    moved_to_site: int = 0  # items dropped into the "more on the site" link

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class DigestInput:
    digest_id: str
    digest_name: str
    subject_template: str
    template: str
    date: datetime
    selection: Selection
    links: Links
    archive: bool = False  # the web archive copy: no personal links
    test: bool = False
    # Tracked links (analytics/links.py): (article id, position) → href; None: the article URL.
    link_for: Callable[[int, int], str] | None = None
    open_pixel: str = ""  # an open pixel's src (track_opens), or none
    per_reader_note: bool = False  # the footer says links name the reader (track_per_reader)


class Renderer:
    def __init__(
        self,
        *,
        templates_dir: Path,
        site_name: str,
        site_url: str,
        language: str,
        tz: tzinfo,
        sender_name: str,
        postal_address: str,
        html_budget: int = 100_000,
    ) -> None:
        loader = jinja2.FileSystemLoader(str(templates_dir / "email"))
        self._html = jinja2.Environment(
            loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True,
        )  # fmt: skip
        self._text = jinja2.Environment(
            loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )  # fmt: skip
        for env in (self._html, self._text):
            env.filters["ko_date"] = lambda d: ko_date(d.astimezone(tz))
            env.filters["local_date"] = lambda d: local_date(d.astimezone(tz), language)
            env.filters["local_time"] = lambda d: local_time(d.astimezone(tz), language)
            env.filters["wrap"] = lambda s, indent="", first=None: wrap(s, TEXT_COLS, indent, first)
        self._css = (templates_dir / "email" / CSS_FILE).read_text("utf-8")
        self.language = language
        self.tz = tz
        self.budget = html_budget
        self.base = {
            "site_name": site_name, "site_url": site_url, "language": language,
            "t": MAIL_STRINGS[language], "sender_name": sender_name or site_name,
            "postal_address": postal_address,
        }  # fmt: skip

    # -- pieces ---------------------------------------------------------------------------

    def subject(self, template: str, **values: Any) -> str:
        text = self._text.from_string(template).render(**self.base, **values)
        return " ".join(text.split())

    def inline(self, html: str) -> str:
        """premailer with the network off; then lines short enough for 8bit MIME."""
        # cssutils would fetch an @import even with premailer's network off: drop them.
        html = _STYLE.sub(lambda m: _IMPORT.sub("", m.group(0)), html)
        inlined = Premailer(
            html, base_url=None, allow_network=False, allow_loading_external_files=False,
            external_styles=None, disable_link_rewrites=True, strip_important=False,
            keep_style_tags=False, cssutils_logging_level=logging.CRITICAL,
            disable_validation=True,
        ).transform()  # fmt: skip
        if not inlined.lstrip().lower().startswith("<!doctype"):
            inlined = "<!DOCTYPE html>\n" + inlined
        return wrap_lines(inlined)

    def _page(self, name: str, values: dict[str, Any]) -> tuple[str, str]:
        ctx = {**self.base, **values, "css": self._css}
        html = self.inline(self._html.get_template(f"{name}.html.j2").render(ctx))
        text = self._text.get_template(f"{name}.txt.j2").render(ctx)
        return html, text

    def _item(
        self, a: Article, summary_limit: int | None, url: str | None = None
    ) -> dict[str, Any]:
        summary = a.summary
        if summary_limit is not None and len(summary) > summary_limit:
            summary = summary[:summary_limit].rstrip() + "…" if summary_limit else ""
        local = a.published_at.astimezone(self.tz)
        other = MAIL_STRINGS[self.language]["other_section"]
        return {
            "title": a.title, "url": url or a.url, "section": a.section,
            "section_name": a.section_name or a.section or other,
            "published_at": local, "time_label": local_time(local, self.language),
            "summary": summary, "image_url": a.image_url if _is_web(a.image_url) else None,
            "image_alt": a.image_caption or a.title, "image_width": THUMB_W,
            "image_height": THUMB_H,
        }  # fmt: skip

    # -- digest ---------------------------------------------------------------------------

    def digest(self, inp: DigestInput) -> RenderedEmail:
        """Render one variant; over the size budget, shorten summaries, then move items out."""
        summary_limit: int | None = None
        keep = inp.selection.item_count
        while True:
            rendered = self._digest_once(inp, summary_limit, keep)
            if rendered.html_bytes < self.budget or keep <= 1:
                break
            if summary_limit is None:
                summary_limit = SUMMARY_TRIM
            elif summary_limit > 0:
                summary_limit = 0
            else:
                keep = max(1, keep * 4 // 5)
        if rendered.summaries_trimmed or rendered.moved_to_site:
            log.warning(
                "digest %s: html over %d bytes: summaries %s, %d items moved to the site link",
                inp.digest_id, self.budget, "shortened" if summary_limit is not None else "kept",
                rendered.moved_to_site,
            )  # fmt: skip
        return rendered

    def _digest_once(self, inp: DigestInput, summary_limit: int | None, keep: int) -> RenderedEmail:
        groups: list[dict[str, Any]] = []
        left = keep
        href = _hrefs(inp.link_for)
        for g in inp.selection.groups:
            items = [self._item(a, summary_limit, href(a)) for a in g.articles[: max(0, left)]]
            left -= len(items)
            if items:
                name = g.name or MAIL_STRINGS[self.language]["other_section"]
                groups.append({"slug": g.slug, "name": name, "items": items})
        moved = inp.selection.item_count - keep
        most_viewed = [
            {**self._item(r.article, 0, href(r.article)), "rank": r.rank, "views": r.views}
            for r in inp.selection.most_viewed
        ]
        date = inp.date.astimezone(self.tz)
        subject = self.subject(
            inp.subject_template, date=date, digest_name=inp.digest_name,
            item_count=inp.selection.item_count,
        )  # fmt: skip
        if inp.test:
            subject = "[TEST] " + subject
        heads = [i["title"] for g in groups for i in g["items"]] or [
            m["title"] for m in most_viewed
        ]
        preheader = " · ".join(heads[:3])
        more = inp.selection.dropped + moved
        values = {
            "digest": {"id": inp.digest_id, "name": inp.digest_name}, "subject": subject,
            "date": date, "date_label": local_date(date, self.language), "preheader": preheader,
            "groups": groups, "most_viewed": most_viewed,
            "more": {"count": more, "url": self.base["site_url"]} if more else None,
            "view_in_browser_url": inp.links.view_in_browser,
            "preferences_url": inp.links.preferences, "unsubscribe_url": inp.links.unsubscribe,
            "archive": inp.archive, "test": inp.test, "open_pixel": inp.open_pixel,
            "per_reader_note": inp.per_reader_note,
        }  # fmt: skip
        html, text = self._page(inp.template, values)
        return RenderedEmail(
            subject=subject, html=html, text=text, preheader=preheader,
            summaries_trimmed=summary_limit is not None, moved_to_site=moved,
        )  # fmt: skip

    # -- transactional ----------------------------------------------------------------------

    def confirm(self, *, confirm_url: str, subject: str | None = None) -> RenderedEmail:
        t = MAIL_STRINGS[self.language]
        subj = subject or f"[{self.base['site_name']}] {t['confirm_title']}"
        values = {"subject": subj, "preheader": t["confirm_title"], "confirm_url": confirm_url}
        html, text = self._page("confirm", values)
        return RenderedEmail(subject=subj, html=html, text=text, preheader=t["confirm_title"])

    def article(
        self, *, article: Article, sender: str, note: str, block_url: str, subject: str = ""
    ) -> RenderedEmail:
        """The send-by-email message: one article, shared by a reader."""
        subj = subject or article.title
        values: dict[str, Any] = {
            "subject": subj, "preheader": article.summary[:90], "sender": sender,
            "note": note, "item": self._item(article, None), "block_url": block_url,
        }  # fmt: skip
        html, text = self._page("article", values)
        return RenderedEmail(subject=subj, html=html, text=text, preheader=article.summary[:90])

    def alert(
        self, *, article: Article, links: Links, link_for: Callable[[int, int], str] | None = None,
        open_pixel: str = "", per_reader_note: bool = False,
    ) -> RenderedEmail:  # fmt: skip
        """A breaking-news alert (속보): one article, to the readers who opted in. Rendered
        and inlined once per alert; ``links`` carry the per-recipient placeholders; the
        tracking arguments are DigestInput's (analytics/tracking.py), the article at 1."""
        t = MAIL_STRINGS[self.language]
        subj = f"[{t['alert_label']}] {article.title}"
        preheader = article.summary[:90]
        values: dict[str, Any] = {
            "subject": subj, "preheader": preheader,
            "item": self._item(article, None, _hrefs(link_for)(article)),
            "preferences_url": links.preferences, "unsubscribe_url": links.unsubscribe,
            "open_pixel": open_pixel, "per_reader_note": per_reader_note,
        }  # fmt: skip
        html, text = self._page("alert", values)
        return RenderedEmail(subject=subj, html=html, text=text, preheader=preheader)


def _hrefs(link_for: Callable[[int, int], str] | None) -> Callable[[Article], str | None]:
    """Each listed article's href in reading order (positions 1, 2, …), or None (its URL)."""
    position = 0

    def href(a: Article) -> str | None:
        nonlocal position
        if link_for is None or a.id is None:
            return None
        position += 1
        return link_for(a.id, position)

    return href


def _is_web(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("https://", "http://"))


def with_subject(rendered: RenderedEmail, subject: str) -> RenderedEmail:
    return replace(rendered, subject=subject)


class WebPages:
    """HTML pages for readers (``templates/web/``), autoescaped, in the site's languages."""

    def __init__(
        self, *, templates_dir: Path, strings: dict[str, dict[str, str]], folder: str = "web",
        **base: Any,
    ) -> None:  # fmt: skip
        # ``folder``: "web" for the reader pages, "console" for the operators' console.
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir / folder)), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )  # fmt: skip
        self._strings = strings
        self._base = base

    def page(self, name: str, *, language: str, **values: Any) -> str:
        lang = language if language in self._strings else "ko"
        ctx = {**self._base, "lang": lang, "t": self._strings[lang], **values}
        return self._env.get_template(f"{name}.html.j2").render(ctx)


# --- preflight (`publisher check`, `publisher run`): every template compiles ---


def _compile(env: jinja2.Environment, where: str, names: list[str]) -> list[str]:
    problems: list[str] = []
    for name in names:
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{where}/{name}:{exc.lineno}: {exc.message}")
        except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"{where}/{name}: {exc}")
    return problems


def template_problems(renderer: Renderer, templates_dir: Path) -> list[str]:
    """Each email and web template that does not compile, as ``email/NAME:LINE: message``.

    Compiled in the environments that render them (the email filters are known there).
    """
    email = renderer._html.list_templates(extensions=["j2"])
    found = _compile(renderer._text, "email", [n for n in email if n.endswith(".txt.j2")])
    found += _compile(renderer._html, "email", [n for n in email if not n.endswith(".txt.j2")])
    web = WebPages(templates_dir=templates_dir, strings={})._env
    found += _compile(web, "web", web.list_templates(extensions=["j2"]))
    if (templates_dir / "console").is_dir():  # the operators' console (/admin/)
        con = WebPages(templates_dir=templates_dir, strings={}, folder="console")._env
        found += _compile(con, "console", con.list_templates(extensions=["j2"]))
    return found
