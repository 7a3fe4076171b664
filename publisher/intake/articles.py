"""Article use cases for the web and CLI handlers: write, retract, list, look up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from publisher.core.models import Article, Section
from publisher.store import articles as store_articles
from publisher.store import events as store_events
from publisher.store.articles import Outcome
from publisher.store.types import Engine


def write_articles(
    engine: Engine, batch: Sequence[Article], *, now: datetime
) -> list[Outcome | str]:
    """Upsert a batch in one transaction; one outcome per article, or the database's reason.
    The article events (article.published, article.updated) go in the same transaction."""
    return store_articles.write_articles(engine, batch, now=now, after=store_events.article_written)


def set_status(
    engine: Engine, external_id: str, status: Literal["published", "retracted"], *, now: datetime
) -> bool:
    """Publish or retract an article; False when no such article exists. A real change is
    an event (article.retracted, or article.published again) in the same transaction."""
    with engine.begin() as conn:
        before = store_articles.get_article(conn, external_id)
        if before is None:
            return False
        store_articles.set_status(conn, external_id, status, now=now)
        if before.status != status:
            kind = "article.retracted" if status == "retracted" else "article.published"
            data = store_events.article_data(external_id, before.url, before.title, status, now)
            store_events.record_event(conn, kind, external_id, data, now=now)
        return True


def latest_articles(
    engine: Engine,
    *,
    limit: int,
    section: str | None = None,
    include_retracted: bool = False,
    since: datetime | None = None,
) -> list[Article]:
    """The newest articles (published only, unless asked), of one section, since a time."""
    with engine.connect() as conn:
        return store_articles.latest_articles(
            conn, limit=limit, section=section, include_retracted=include_retracted, since=since
        )


def list_sections(engine: Engine) -> list[Section]:
    """Every known section."""
    with engine.connect() as conn:
        return store_articles.list_sections(conn)


def published_article(engine: Engine, external_id: str) -> Article | None:
    """The article if it exists and is published."""
    with engine.connect() as conn:
        return store_articles.published_article(conn, external_id)
