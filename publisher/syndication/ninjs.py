"""IPTC ninjs (News in JSON) for licensing partners: 3.1 by default, 2.2 by setting.

One article is one ``text`` news object: headline, summary (descriptions), HTML body
(``bodies`` with contentType text/html: what ninjs 1.x called ``body_html``), byline (``by``
and ``people`` with rel ``author``), subjects from its section, its web page as a rendition
and its image as an associated ``picture`` with its renditions, caption and credit.
``version`` starts at 1 and grows with each correction (each article.updated event);
``versionCreated`` is the last update. A retracted article is ``pubStatus: canceled``
without body or image: partners must take it down.

The full text (``bodies``) goes only to whom may have it: everyone when ``feed_full_text``
is on, otherwise only a request with an API key; the rest get the summary (``descriptions``,
taken from the body's text when the article has none) and the link to the web page.

3.x names properties in camelCase (versionCreated, pubStatus, contentType, altIds…), 2.x in
lower case: the document is built once in 3.x names and renamed for 2.2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from publisher.core.config import Settings
from publisher.core.models import Article
from publisher.feeds.clean import html_to_text
from publisher.feeds.items import SUMMARY_LIMIT
from publisher.feeds.scopes import tag_scheme
from publisher.store import articles as store_articles
from publisher.store import events as store_events
from publisher.store.types import Engine

CORRECTIONS = ("article.updated",)
PROFILE = "publisher-article"
_V2_NAMES = {
    "firstCreated": "firstcreated", "versionCreated": "versioncreated", "pubStatus": "pubstatus",
    "contentType": "contenttype", "altIds": "altids", "sizeInBytes": "sizeinbytes",
    "copyrightHolder": "copyrightholder", "copyrightNotice": "copyrightnotice",
    "charCount": "charcount",
}  # fmt: skip


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _image(a: Article) -> dict[str, Any] | None:
    if not a.image_url:
        return None
    rendition: dict[str, Any] = {"name": "original", "href": a.image_url}
    if a.image_type:
        rendition["contentType"] = a.image_type
    if a.image_width and a.image_height:
        rendition["width"], rendition["height"] = a.image_width, a.image_height
    if a.image_length:
        rendition["sizeInBytes"] = a.image_length
    picture: dict[str, Any] = {
        "name": "featureimage", "uri": a.image_url, "type": "picture",
        "renditions": [rendition],
    }  # fmt: skip
    if a.image_caption:
        picture["descriptions"] = [{"role": "caption", "value": a.image_caption}]
    if a.image_credit:
        picture["by"] = a.image_credit
        picture["copyrightHolder"] = a.image_credit
    return picture


def article_document(
    settings: Settings, a: Article, *, version: int, full_text: bool = True
) -> dict[str, Any]:
    """One article as a ninjs 3.x object (see ``document`` for the configured version);
    without ``full_text`` no ``bodies``, only the summary."""
    canceled = a.status == "retracted"
    doc: dict[str, Any] = {
        "uri": tag_scheme(settings).article(a.external_id),
        "type": "text",
        "profile": PROFILE,
        "version": str(version),
        "firstCreated": _iso(a.published_at),
        "versionCreated": _iso(a.updated_at),
        "pubStatus": "canceled" if canceled else "usable",
        "language": settings.language,
        "copyrightHolder": settings.site_name,
        "headlines": [{"role": "main", "contentType": "text/plain", "value": a.title}],
        "altIds": [{"role": "cms", "value": a.external_id}],
        "renditions": [{"name": "web", "href": a.url, "contentType": "text/html"}],
    }
    if a.author:
        doc["by"] = a.author
        doc["people"] = [{"name": a.author, "rel": "author"}]
    if a.section:
        doc["subjects"] = [
            {"name": a.section_name or a.section, "rel": "section", "literal": a.section}
        ]
    if canceled:
        return doc
    summary = a.summary or ("" if full_text else html_to_text(a.content_html, limit=SUMMARY_LIMIT))
    if summary:
        doc["descriptions"] = [{"role": "summary", "contentType": "text/plain", "value": summary}]
    if a.content_html and full_text:
        body = {"role": "main", "contentType": "text/html", "value": a.content_html}
        doc["bodies"] = [body]
    picture = _image(a)
    if picture is not None:
        doc["associations"] = [picture]
    return doc


def _renamed(value: Any) -> Any:
    if isinstance(value, dict):
        return {_V2_NAMES.get(k, k): _renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    return value


def versioned(settings: Settings, doc: dict[str, Any]) -> dict[str, Any]:
    return doc if settings.ninjs_version.startswith("3") else _renamed(doc)


def document(
    settings: Settings, engine: Engine, external_id: str, *, full_text: bool
) -> dict[str, Any] | None:
    """The article (published or retracted) as ninjs; None when there is no such article."""
    with engine.connect() as conn:
        found = store_articles.get_article(conn, external_id)
        if found is None:
            return None
        corrections = store_events.count_for(conn, external_id, CORRECTIONS)
    doc = article_document(settings, found, version=1 + corrections, full_text=full_text)
    return versioned(settings, doc)


def recent(
    settings: Settings, engine: Engine, *, limit: int, full_text: bool
) -> list[dict[str, Any]]:
    """The newest articles, retracted ones included (as canceled), newest first."""
    with engine.connect() as conn:
        found = store_articles.latest_articles(conn, limit=limit, include_retracted=True)
        counts = store_events.counts_for(conn, [a.external_id for a in found], CORRECTIONS)
    return [
        versioned(settings, article_document(
            settings, a, version=1 + counts.get(a.external_id, 0), full_text=full_text,
        ))
        for a in found
    ]  # fmt: skip
