"""The click tables on SQLite and PostgreSQL: a flush's batch, burst corrections (negative
deltas), the weighted ranking, retention and the report read back the same (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from publisher.analytics import sketch
from publisher.analytics.report import run_report
from publisher.analytics.retention import apply_retention
from publisher.store import articles as store_articles
from publisher.store import clicks as store_clicks
from publisher.store import digest_runs
from publisher.store import pageviews as store_pageviews
from publisher.store.clicks import ClickBatch
from tests.digestkit import article

T = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_clicks_ranking_retention_and_report(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        store_articles.ensure_sections(conn, [("politics", "정치"), ("economy", "경제")])
        made = [article(n, ("politics", "economy")[n % 2], published=T - timedelta(hours=3))
                for n in range(1, 5)]  # fmt: skip
        store_articles.upsert_articles(conn, made, now=T - timedelta(hours=3))
        ids = store_pageviews.resolve_ids(conn, [a.external_id for a in made])
        a1, a2 = ids["a0001"], ids["a0002"]
        store_pageviews.add_view_counts(conn, {(a1, T - timedelta(hours=2)): 10,
                                               (a2, T - timedelta(hours=2)): 8})  # fmt: skip
        run_id = digest_runs.claim(
            conn, digest_id="morning", window_start=T - timedelta(days=1), window_end=T,
            due_at=T, status="running", now=T, note="",
        )  # fmt: skip
    assert run_id is not None
    hour = T.replace(minute=0)
    registers = sketch.empty()
    for who in ("a", "b", "c"):
        sketch.add(registers, who.encode())
    batch = ClickBatch(
        clicks={(run_id, 1, 2, a2, "human", "", hour): 5, (run_id, 1, 1, a1, "human", "", hour): 1,
                (run_id, 1, 1, a1, "machine", "burst", hour): 1},
        email_views={(a2, hour): 5, (a1, hour): 1}, sketches={run_id: bytes(registers)},
    )  # fmt: skip
    store_clicks.write_batch(any_engine, batch, sketch.merge)
    # A burst seen in the next flush takes one of a1's human clicks back.
    back = ClickBatch(
        clicks={(run_id, 1, 1, a1, "human", "", hour): -1,
                (run_id, 1, 1, a1, "machine", "burst", hour): 1},
        email_views={(a1, hour): -1}, sketches={run_id: bytes(registers)},
    )  # fmt: skip
    store_clicks.write_batch(any_engine, back, sketch.merge)
    with any_engine.connect() as conn:
        web_only = store_pageviews.top_articles(
            conn, now=T + timedelta(hours=1), window=timedelta(hours=24), limit=2,
            weights={"web": 1.0},
        )  # fmt: skip
        both = store_pageviews.top_articles(
            conn, now=T + timedelta(hours=1), window=timedelta(hours=24), limit=2
        )
    assert [(r.article.id, r.views) for r in web_only] == [(a1, 10), (a2, 8)]
    assert [(r.article.id, r.views) for r in both] == [(a2, 13), (a1, 10)]
    report = run_report(any_engine, run_id)
    assert (report.human, report.machine, report.unique_clicks_estimate) == (5, 2, 3)
    assert [(s.key, s.human, s.machine) for s in report.sections] == [
        ("economy", 0, 2),
        ("politics", 5, 0),  # a0001 is in economy, a0002 in politics
    ]
    apply_retention(any_engine, now=T + timedelta(days=91), retention=timedelta(days=90))
    assert run_report(any_engine, run_id).human == 5
