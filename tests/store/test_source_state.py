"""Source state and the de-dup look-ups behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from publisher.core.models import Article
from publisher.store import articles as store_articles
from publisher.store import sources as store_sources
from publisher.store.sources import SourceState

T = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_state_round_trip_and_replace(any_engine: Engine) -> None:
    st = SourceState(name="cms", kind="feed", target="https://cms.example.kr/rss",
                     etag='W/"abc"', last_modified="Mon, 23 Nov 2026 00:55:00 GMT",
                     last_attempt_at=T, last_success_at=T, last_result="added 1")  # fmt: skip
    with any_engine.begin() as conn:
        assert store_sources.get_state(conn, "cms") is None
        store_sources.save_state(conn, st)
    later = T + timedelta(minutes=2)
    failed = replace(st, failures=2, last_error="HTTP 503", next_attempt_at=later)
    with any_engine.begin() as conn:
        store_sources.save_state(conn, failed)
    with any_engine.connect() as conn:
        assert store_sources.get_state(conn, "cms") == failed
        assert store_sources.all_states(conn) == {"cms": failed}


def test_ids_by_url_only_among_one_sources_articles(any_engine: Engine) -> None:
    def art(external_id: str, url: str) -> Article:
        return Article(external_id=external_id, url=url, title="t", published_at=T, updated_at=T)

    with any_engine.begin() as conn:
        store_articles.upsert_articles(
            conn,
            [art("cms:aa", "https://n.kr/1"), art("cms_x:bb", "https://n.kr/2"),
             art("other:cc", "https://n.kr/1")],
            now=T,
        )  # fmt: skip
    with any_engine.connect() as conn:
        urls = ["https://n.kr/1", "https://n.kr/2", "https://n.kr/3"]
        # "_" in the prefix is literal, not a LIKE wildcard.
        assert store_sources.ids_by_url(conn, id_prefix="cms:", urls=urls) == {
            "https://n.kr/1": "cms:aa"
        }
        assert store_sources.ids_by_url(conn, id_prefix="cms_x:", urls=urls) == {
            "https://n.kr/2": "cms_x:bb"
        }
        assert store_sources.existing_ids(conn, ["cms:aa", "cms:zz"]) == {"cms:aa"}
