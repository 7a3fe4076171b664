"""Named queries for articles and sections."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import Connection, Engine, Row, bindparam, func, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from publisher.core.models import Article, Section
from publisher.store.db import StoreError
from publisher.store.schema import articles, sections

Outcome = Literal["added", "updated", "unchanged"]
_CHUNK = 500


class ArticleRow(NamedTuple):
    """An article ready for the store: what validation hands to upsert_rows.

    A plain tuple, so that validation workers send it back to the importing process cheaply.
    Times are aware, in UTC.
    """

    external_id: str
    url: str
    title: str
    summary: str
    content_html: str
    author: str
    section: str | None
    tags: str  # JSON array
    image_url: str | None
    image_caption: str | None
    image_type: str | None
    image_length: int | None
    image_width: int | None
    image_height: int | None
    image_credit: str | None
    status: str
    published_at: datetime
    updated_at: datetime
    content_hash: str
    section_name: str | None  # goes to the sections table, not to this row
    breaking: bool = False  # sets breaking_at once (issue 15), not a column of its own


# The articles columns an ArticleRow fills, in its order, then registered_at.
_ROW_COLUMNS = ArticleRow._fields[: ArticleRow._fields.index("section_name")]
_INSERT_COLUMNS = (*_ROW_COLUMNS, "registered_at")


def content_hash(a: Article) -> str:
    """A digest of everything a reader could see; equal hash = unchanged article."""
    parts = [
        a.url, a.title, a.summary, a.content_html, a.author, a.section or "",
        a.section_name or "", "\x1f".join(a.tags), a.image_url or "", a.image_caption or "",
        a.image_type or "", str(a.image_length or ""), a.status,
        a.published_at.isoformat(),
    ]  # fmt: skip
    if a.image_width or a.image_height or a.image_credit:  # issue 17: older hashes stay valid
        parts += [str(a.image_width or ""), str(a.image_height or ""), a.image_credit or ""]
    return hashlib.sha256("\x1e".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def article_row(a: Article) -> ArticleRow:
    return ArticleRow(
        a.external_id, a.url, a.title, a.summary, a.content_html, a.author, a.section,
        json.dumps(list(a.tags), ensure_ascii=False), a.image_url, a.image_caption,
        a.image_type, a.image_length, a.image_width, a.image_height, a.image_credit, a.status,
        a.published_at.astimezone(UTC), a.updated_at.astimezone(UTC), content_hash(a),
        a.section_name, a.breaking,
    )  # fmt: skip


def ensure_sections(conn: Connection, pairs: Iterable[tuple[str, str | None]]) -> None:
    """Create unknown sections (new ones go last); rename when a name is given and differs."""
    wanted: dict[str, str | None] = {}
    for slug, name in pairs:
        if name or slug not in wanted:
            wanted[slug] = name
    if not wanted:
        return
    existing = {
        r.slug: r.name
        for r in conn.execute(
            select(sections.c.slug, sections.c.name).where(sections.c.slug.in_(list(wanted)))
        )
    }
    next_pos = (conn.execute(select(func.max(sections.c.position))).scalar() or 0) + 1
    for slug, name in wanted.items():
        if slug not in existing:
            conn.execute(insert(sections).values(slug=slug, name=name or slug, position=next_pos))
            next_pos += 1
        elif name and existing[slug] != name:
            conn.execute(update(sections).where(sections.c.slug == slug).values(name=name))


def upsert_articles(conn: Connection, batch: Sequence[Article], *, now: datetime) -> list[Outcome]:
    """Insert or update by external_id, in the caller's transaction. One outcome per article."""
    return upsert_rows(conn, [article_row(a) for a in batch], now=now)


def upsert_rows(conn: Connection, batch: Sequence[ArticleRow], *, now: datetime) -> list[Outcome]:
    """upsert_articles for rows made by article_row (in validation workers, for big imports).

    ``registered_at`` is set once, when publisher first sees the id. An article whose content
    hash is unchanged is left alone. A changed one without its own newer ``updated_at`` gets
    ``now``, so a correction always moves ``updated`` forward.
    """
    ensure_sections(conn, ((r.section, r.section_name) for r in batch if r.section))
    outcomes: list[Outcome] = []
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start : start + _CHUNK]
        known = {
            r.external_id: r
            for r in conn.execute(
                select(
                    articles.c.id, articles.c.external_id, articles.c.content_hash,
                    articles.c.updated_at,
                ).where(articles.c.external_id.in_([a.external_id for a in chunk]))
            )
        }  # fmt: skip
        inserts: list[ArticleRow] = []
        for row in chunk:
            old = known.get(row.external_id)
            if old is None:
                inserts.append(row)
                outcomes.append("added")
            elif old.content_hash == row.content_hash:
                outcomes.append("unchanged")
            else:
                values = dict(zip(_ROW_COLUMNS, row, strict=False))
                if row.updated_at <= old.updated_at:
                    values["updated_at"] = max(now, old.updated_at)
                conn.execute(update(articles).where(articles.c.id == old.id).values(**values))
                outcomes.append("updated")
        if inserts:
            _insert(conn, inserts, now)
    _mark_breaking(conn, [r.external_id for r in batch if r.breaking], now)
    return outcomes


def _mark_breaking(conn: Connection, external_ids: list[str], now: datetime) -> None:
    """Articles an intake marked ``breaking``: the alert job sends each once (issue 15). Only
    the first mark counts: the same article imported again does not restart its clock."""
    for start in range(0, len(external_ids), _CHUNK):
        conn.execute(
            update(articles)
            .where(
                articles.c.external_id.in_(external_ids[start : start + _CHUNK]),
                articles.c.breaking_at.is_(None),
            )
            .values(breaking_at=now)
        )


def _insert(conn: Connection, rows: list[ArticleRow], now: datetime) -> None:
    """One executemany at the driver: SQLAlchemy's per-row parameter work would cost as much
    as the insert itself on a big import. Times go through the column type, as elsewhere."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"  # sqlite3 or psycopg
    # dialect_impl: SQLite's own DATETIME format, which every query compares against as text.
    kind = articles.c.published_at.type.dialect_impl(conn.dialect)
    to_db: Callable[[Any], Any] = kind.bind_processor(conn.dialect) or (lambda v: v)
    registered = to_db(now)
    sql = (
        f"INSERT INTO articles ({', '.join(_INSERT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))})"
    )
    texts = ArticleRow._fields.index("published_at")  # the plain columns come first
    conn.exec_driver_sql(
        sql,
        [
            (*r[:texts], to_db(r.published_at), to_db(r.updated_at), r.content_hash, registered)
            for r in rows
        ],
    )


def write_articles(
    engine: Engine, batch: Sequence[Article], *, now: datetime, after: AfterWrite | None = None
) -> list[Outcome | str]:
    """Upsert a batch in one transaction; see write_rows."""
    return write_rows(engine, [article_row(a) for a in batch], now=now, after=after)


# Called in the write's transaction with what was written (store/events.article_written).
AfterWrite = Callable[[Connection, Sequence[ArticleRow], Sequence[Outcome], datetime], None]


def write_rows(
    engine: Engine, batch: Sequence[ArticleRow], *, now: datetime, after: AfterWrite | None = None
) -> list[Outcome | str]:
    """Upsert a batch in one transaction; one outcome per article, or the database's reason.

    When the database refuses the batch for a data reason, each article is retried in its own
    transaction, so a bad row costs only itself and no article is ever half-written. A database
    that cannot be written at all raises StoreError.
    """
    try:
        with engine.begin() as conn:
            outcomes = list(upsert_rows(conn, batch, now=now))
            if after is not None:
                after(conn, batch, outcomes, now)
            return list(outcomes)
    except (IntegrityError, DataError) as exc:
        if len(batch) == 1:
            return [f"the database refused it: {str(exc.orig).strip().splitlines()[0]}"]
        results: list[Outcome | str] = []
        for row in batch:
            results.extend(write_rows(engine, [row], now=now, after=after))
        return results
    except OperationalError as exc:
        raise StoreError(f"database_url: cannot write: {str(exc.orig).strip()}") from None


def set_status(
    conn: Connection, external_id: str, status: Literal["published", "retracted"], *, now: datetime
) -> bool:
    """Returns False when no such article exists."""
    row = conn.execute(
        select(articles.c.id, articles.c.status).where(articles.c.external_id == external_id)
    ).first()
    if row is None:
        return False
    if row.status != status:
        conn.execute(
            update(articles).where(articles.c.id == row.id).values(status=status, updated_at=now)
        )
    return True


_ARTICLE_COLUMNS = (*articles.c, sections.c.name.label("section_name"))


def select_articles() -> Any:
    return select(*_ARTICLE_COLUMNS).select_from(
        articles.outerjoin(sections, articles.c.section == sections.c.slug)
    )


def article_from_row(r: Row[Any]) -> Article:
    return Article(
        id=r.id,
        external_id=r.external_id,
        url=r.url,
        title=r.title,
        summary=r.summary,
        content_html=r.content_html,
        author=r.author,
        section=r.section,
        section_name=r.section_name,
        tags=tuple(json.loads(r.tags)),
        image_url=r.image_url,
        image_caption=r.image_caption,
        image_type=r.image_type,
        image_length=r.image_length,
        image_width=r.image_width,
        image_height=r.image_height,
        image_credit=r.image_credit,
        status=r.status,
        published_at=r.published_at,
        updated_at=r.updated_at,
        registered_at=r.registered_at,
    )


def get_article(conn: Connection, external_id: str) -> Article | None:
    row = conn.execute(select_articles().where(articles.c.external_id == external_id)).first()
    return None if row is None else article_from_row(row)


def latest_articles(
    conn: Connection,
    *,
    limit: int,
    section: str | None = None,
    include_retracted: bool = False,
    since: datetime | None = None,
) -> list[Article]:
    """Newest first by published time; ties broken by the newer registration."""
    q = select_articles()
    if not include_retracted:
        q = q.where(articles.c.status == "published")
    if section is not None:
        q = q.where(articles.c.section == section)
    if since is not None:
        q = q.where(articles.c.updated_at >= since)
    q = q.order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(limit)
    return [article_from_row(r) for r in conn.execute(q)]


def registered_between(
    conn: Connection,
    *,
    after: datetime,
    until: datetime,
    sections_in: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[Article]:
    """Published articles first seen in (after, until] and published by ``until``: "new"."""
    q = select_articles().where(
        articles.c.status == "published",
        articles.c.registered_at > after,
        articles.c.registered_at <= until,
        articles.c.published_at <= until,
    )
    if sections_in is not None:
        q = q.where(articles.c.section.in_(list(sections_in)))
    q = q.order_by(articles.c.published_at.desc(), articles.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return [article_from_row(r) for r in conn.execute(q)]


def list_sections(conn: Connection) -> list[Section]:
    q = select(sections).order_by(sections.c.position, sections.c.slug)
    return [Section(slug=r.slug, name=r.name, position=r.position) for r in conn.execute(q)]


def count_articles(conn: Connection) -> dict[str, int]:
    q = select(articles.c.status, func.count()).group_by(articles.c.status)
    return {str(status): int(n) for status, n in conn.execute(q)}


def newest_update(conn: Connection, section: str | None = None) -> datetime | None:
    q = select(func.max(articles.c.updated_at)).where(articles.c.status == "published")
    if section is not None:
        q = q.where(articles.c.section == section)
    value = conn.execute(q).scalar()
    return value if isinstance(value, datetime) else None


_ARTICLE = select_articles().where(articles.c.external_id == bindparam("external_id"))


def published_article(conn: Connection, external_id: str) -> Article | None:
    """The article if it is published (a statement built once: this is on the share path)."""
    row = conn.execute(_ARTICLE, {"external_id": external_id}).first()
    if row is None:
        return None
    found = article_from_row(row)
    return found if found.status == "published" else None
