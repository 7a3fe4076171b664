"""The JSON endpoint's since cursor, and what a failing source does: back off, keep its state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import FeedSource, JsonSource, Settings
from publisher.core.metrics import Metrics
from publisher.intake.polling import backoff, run_collect
from tests.conftest import T0
from tests.httpkit import Answer, Server, serving
from tests.intake.sources.kit import Upstream, item, obj, rss, state, titles, with_sources


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as s:
        yield s


def _json(objs: list[dict[str, Any]]) -> Answer:
    body = json.dumps(objs, ensure_ascii=False).encode()
    return Answer(200, body, {"Content-Type": "application/json"})


def test_since_is_sent_and_advanced(settings: Settings, engine: Engine, server: Server) -> None:
    pages = [
        [obj(1, updated_at="2026-11-23T09:10:00+09:00"), obj(2)],
        [obj(3, updated_at="2026-11-23T09:40:00+09:00"), obj(4, url="not a url",
                                                           updated_at="2026-11-23T09:55:00+09:00")],
        [],
    ]  # fmt: skip
    server.answer("/api/articles", lambda _seen: _json(pages.pop(0)))
    s = with_sources(
        settings,
        JsonSource(kind="json", name="api", url=server.url("/api/articles?section=all"),
                   since_param="updated_since"),
    )  # fmt: skip

    run = run_collect(s, engine, now=T0)
    assert run.sources[0].added == 2
    assert server.seen[-1].path == "/api/articles?section=all"  # nothing seen yet: no cursor
    assert state(engine, "api").since_cursor == "2026-11-23T00:10:00Z"

    run = run_collect(s, engine, now=T0 + timedelta(minutes=1))
    assert server.seen[-1].path == (
        "/api/articles?section=all&updated_since=2026-11-23T00%3A10%3A00Z"
    )
    assert (run.sources[0].added, run.sources[0].rejected) == (1, 1)
    assert "record 2: url: must not contain spaces" in run.sources[0].detail
    # The rejected record is newer, but the cursor only moves past what was accepted.
    assert state(engine, "api").since_cursor == "2026-11-23T00:40:00Z"

    run = run_collect(s, engine, now=T0 + timedelta(minutes=2))
    assert server.seen[-1].path.endswith("updated_since=2026-11-23T00%3A40%3A00Z")
    assert not run.changed and state(engine, "api").since_cursor == "2026-11-23T00:40:00Z"
    assert set(titles(engine)) == {"cms-1", "cms-2", "cms-3"}


def test_not_an_array_is_a_failure(settings: Settings, engine: Engine, server: Server) -> None:
    server.answer("/api", Answer(200, b'{"articles": []}', {"Content-Type": "application/json"}))
    s = with_sources(settings, JsonSource(kind="json", name="api", url=server.url("/api")))
    run = run_collect(s, engine, now=T0)
    assert run.failed == ["api"] and "expected a JSON array of article objects" in (
        state(engine, "api").last_error
    )


def test_a_failing_source_backs_off_and_keeps_its_state(
    settings: Settings, engine: Engine, server: Server
) -> None:
    clock = FixedClock(T0)
    up = Upstream(server)
    up.body = rss(item("g1", "https://news.example.kr/a/1", "하나"))
    s = with_sources(settings, FeedSource(kind="feed", name="cms", url=server.url("/rss.xml")))
    metrics = Metrics()
    assert not run_collect(s, engine, now=clock.now()).failed

    up.status = 503
    clock.advance(timedelta(minutes=5))
    assert run_collect(s, engine, now=clock.now(), metrics=metrics).failed == ["cms"]
    waits = [1, 2, 4, 8, 16, 32, 60, 60]  # minutes: doubling up to the 1 h maximum
    for n, wait in enumerate(waits, start=1):
        st = state(engine, "cms")
        assert st.failures == n and st.last_error.startswith("HTTP 503 from")
        assert st.next_attempt_at == clock.now() + timedelta(minutes=wait)
        assert (st.etag, st.last_success_at) == ('"v1"', T0)  # what a 304 needs is kept
        requests = len(server.seen)
        clock.set(st.next_attempt_at - timedelta(seconds=1))
        assert run_collect(s, engine, now=clock.now()).sources[0].status == "waiting"
        assert len(server.seen) == requests  # not even a request while backing off
        if n < len(waits):
            clock.set(st.next_attempt_at)
            assert run_collect(s, engine, now=clock.now(), metrics=metrics).failed == ["cms"]
    sample = metrics.registry.get_sample_value("publisher_source_errors_total", {"source": "cms"})
    assert sample == len(waits)

    up.status = 200
    assert st.next_attempt_at is not None
    clock.set(st.next_attempt_at)
    run = run_collect(s, engine, now=clock.now())
    assert run.sources[0].status == "ok" and "not modified" in run.sources[0].detail
    assert server.seen[-1].headers["if-none-match"] == '"v1"'
    st = state(engine, "cms")
    assert (st.failures, st.last_error, st.next_attempt_at) == (0, "", None)


def test_backoff_table(settings: Settings) -> None:
    s = settings.model_copy(
        update={
            "collect_backoff_base": timedelta(seconds=30),
            "collect_backoff_max": timedelta(minutes=10),
        }
    )
    assert [int(backoff(s, n).total_seconds()) for n in range(1, 8)] == [
        30, 60, 120, 240, 480, 600, 600
    ]  # fmt: skip
    assert backoff(s, 500) == timedelta(minutes=10)


@pytest.mark.parametrize("bad", ["\u0000", "\ud800"], ids=["nul", "surrogate"])
def test_a_time_intake_cleans_still_moves_the_cursor(
    settings: Settings, engine: Engine, server: Server, bad: str
) -> None:
    """Intake cleans a NUL or a lone surrogate out of a time, as out of any text, and takes the
    article: the cursor is read from the same cleaned time. From the raw one it failed the
    whole poll after the articles were written, on every poll, the cursor never moving."""
    found = [obj(1, updated_at=f"2026-11-23T09:10:00+09:00{bad}")]
    body = json.dumps(found).encode()  # ASCII: the surrogate as JSON's "\ud800"
    server.answer("/api", Answer(200, body, {"Content-Type": "application/json"}))
    s = with_sources(settings, JsonSource(kind="json", name="api", url=server.url("/api")))
    run = run_collect(s, engine, now=T0)
    assert run.failed == [] and run.sources[0].added == 1
    assert state(engine, "api").since_cursor == "2026-11-23T00:10:00Z"
