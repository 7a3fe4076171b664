"""A digest run against a real SQLite store: exactly once, variants, skips, fan-out."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from publisher.core import tokens
from publisher.core.config import Settings
from publisher.digests import pipeline, testcopy
from publisher.messages import fanout
from publisher.messages.enqueue import fill as personalise
from publisher.store import digest_runs
from publisher.store import subscribers as store_subscribers
from publisher.store.db import make_engine
from publisher.store.schema import contents, outbox
from tests.digestkit import DUE, NOW, add_subscriber, load_store, schedules


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def _message(engine: Engine, row: Any) -> email.message.EmailMessage:
    with engine.connect() as conn:
        q = select(contents.c.body).where(contents.c.id == row.content_id)
        body = conn.execute(q).scalar_one()
    raw = personalise(bytes(body), json.loads(row.substitutions), row.message_id)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def _text(msg: email.message.EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


def test_double_fire_enqueues_once(engine: Engine, settings: Settings) -> None:
    load_store(engine)
    add_subscriber(engine, "kim@example.kr", ("politics",), name="김민수")
    add_subscriber(engine, "lee@example.kr")
    sch = schedules()
    first = pipeline.run_digest(engine, settings, sch, "morning", now=NOW)
    second = pipeline.run_digest(engine, settings, sch, "morning", now=NOW + timedelta(minutes=3))
    assert (first.status, first.enqueued, first.recipients) == ("enqueued", 2, 2)
    assert (second.status, second.enqueued, second.run_id) == ("already", 0, first.run_id)
    assert len(_rows(engine)) == 2
    with engine.connect() as conn:
        runs = digest_runs.list_runs(conn, "morning")
    assert [(r.window_end, r.status, r.recipient_count) for r in runs] == [
        (DUE - timedelta(minutes=10), "enqueued", 2)
    ]


def test_two_daemons_racing_make_one_issue(any_engine: Engine, settings: Settings) -> None:
    """Two engines (as two processes would have) fire the same run at the same moment."""
    load_store(any_engine)
    for i in range(5):
        add_subscriber(any_engine, f"r{i}@example.kr")
    sch = schedules()
    url = any_engine.url.render_as_string(hide_password=False)
    results: list[pipeline.RunResult] = []
    barrier = threading.Barrier(2)

    def fire() -> None:
        own = make_engine(url)
        barrier.wait()
        results.append(pipeline.run_digest(own, settings, sch, "morning", now=NOW))
        own.dispose()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["already", "enqueued"]
    assert len(_rows(any_engine)) == 5


def test_unique_constraint_refuses_a_second_claim(engine: Engine) -> None:
    with engine.begin() as conn:
        kw: dict[str, Any] = {
            "digest_id": "morning", "window_start": DUE - timedelta(days=1), "window_end": DUE,
            "due_at": DUE, "status": "enqueued", "now": DUE,
        }  # fmt: skip
        assert digest_runs.claim(conn, **kw) is not None
        assert digest_runs.claim(conn, **kw) is None


def test_min_items_skip_is_logged_and_sends_nothing(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    add_subscriber(engine, "kim@example.kr")
    text = schedules.__defaults__[0].replace("min_items: 1", "min_items: 3")  # type: ignore[index]
    load_store(engine, per_section=0)
    caplog.set_level("INFO", logger="publisher.digests.pipeline")
    result = pipeline.run_digest(engine, settings, schedules(text), "morning", now=NOW)
    assert result.status == "too_few"
    assert "min_items" in caplog.text
    assert _rows(engine) == []


def test_variants_group_by_section_choice(engine: Engine, settings: Settings) -> None:
    load_store(engine)
    add_subscriber(engine, "a@example.kr", ("politics", "economy"))
    add_subscriber(engine, "b@example.kr", ("economy", "politics"))
    add_subscriber(engine, "c@example.kr", ("sports",))
    add_subscriber(engine, "d@example.kr")  # no choice: every section
    add_subscriber(engine, "e@example.kr", ("politics",), frequency="weekly")
    add_subscriber(engine, "p@example.kr", ("politics",), status="pending")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert (result.variants, result.recipients) == (3, 4)
    rows = {r.recipient: r for r in _rows(engine)}
    assert set(rows) == {"a@example.kr", "b@example.kr", "c@example.kr", "d@example.kr"}
    assert rows["a@example.kr"].content_id == rows["b@example.kr"].content_id
    assert len({r.content_id for r in rows.values()}) == 3
    sports = _text(_message(engine, rows["c@example.kr"]), "plain")
    assert "스포츠 기사" in sports and "정치 기사" not in sports.split("== 많이 본 뉴스 ==")[0]


def test_empty_variant_gets_nothing_and_suppressed_get_nothing(
    engine: Engine, settings: Settings
) -> None:
    load_store(engine)
    add_subscriber(engine, "weekly-pol@example.kr", ("politics",), frequency="weekly")
    add_subscriber(engine, "weekly-sports@example.kr", ("sports",), frequency="weekly")
    add_subscriber(engine, "gone@example.kr", ("politics",), frequency="weekly")
    with engine.begin() as conn:
        store_subscribers.suppress(conn, email="gone@example.kr", reason="hard_bounce", now=NOW)
    # The weekly digest covers politics and economy only; Monday 08:00 Seoul.
    monday = DUE.replace(day=29) + timedelta(hours=1)
    result = pipeline.run_digest(engine, settings, schedules(), "weekly", now=monday)
    assert result.status == "enqueued", result
    assert [r.recipient for r in _rows(engine)] == ["weekly-pol@example.kr"]
    assert result.skipped_recipients == 1


def test_fifty_subscribers_each_get_their_sections(engine: Engine, settings: Settings) -> None:
    """End to end without the SMTP leg: outbox rows + stored contents, personalised."""
    made = load_store(engine, per_section=3)
    slugs = ["politics", "economy", "society", "world", "sports", "culture"]
    wanted: dict[str, tuple[str, ...]] = {}
    for i in range(50):
        chosen = tuple(s for k, s in enumerate(slugs) if (i >> k) & 1) if i % 7 else ()
        wanted[f"reader{i:02d}@example.kr"] = chosen
        add_subscriber(engine, f"reader{i:02d}@example.kr", chosen, name=f"독자{i}")
    # The article URLs themselves: tracked links (the default) are tests/analytics' subject.
    settings = settings.model_copy(update={"track_clicks": False})
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.enqueued == 50
    rows = _rows(engine)
    assert len(rows) == 50
    unsubscribe_links = set()
    for row in rows:
        msg = _message(engine, row)
        assert msg["To"].addresses[0].addr_spec == row.recipient
        text, html = _text(msg, "plain"), _text(msg, "html")
        listed = text.split("== 많이 본 뉴스 ==")[0]
        for a in made:
            expect = not wanted[row.recipient] or a.section in wanted[row.recipient]
            assert (a.title in listed) == expect, (row.recipient, a.title)
            if expect:
                assert a.url in html
        assert "%%" not in text + html + str(msg["List-Unsubscribe"])
        unsub = str(msg["List-Unsubscribe"]).split(",")[0].strip("<> ")
        assert unsub in html and unsub in text
        unsubscribe_links.add(unsub)
    assert len(unsubscribe_links) == 50  # a different token per recipient


def test_stale_catch_up_is_skipped_and_the_next_window_starts_after_it(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    load_store(engine)
    add_subscriber(engine, "kim@example.kr")
    sch = schedules()
    late = DUE + timedelta(hours=7)  # back at 14:00 Seoul: yesterday's news, not sent
    result = pipeline.run_digest(engine, settings, sch, "morning", now=late)
    assert result.status == "stale" and "skipped" in caplog.text
    assert _rows(engine) == []
    tomorrow = pipeline.run_digest(engine, settings, sch, "morning", now=NOW + timedelta(days=1))
    assert tomorrow.window is not None
    assert tomorrow.window.start == DUE - timedelta(minutes=10)  # the stale window is closed
    assert tomorrow.status == "too_few"  # nothing registered since


def test_archive_copy_has_no_personal_links(engine: Engine, settings: Settings) -> None:
    load_store(engine)
    add_subscriber(engine, "kim@example.kr")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.run_id is not None
    with engine.connect() as conn:
        html = digest_runs.archive_html(conn, result.run_id)
    assert html is not None and "많이 본 뉴스" in html and "정치 기사 1번" in html
    assert "%%" not in html and "/u/" not in html and "/preferences/" not in html


def test_max_items_caps_and_links_the_rest(engine: Engine, settings: Settings) -> None:
    load_store(engine, per_section=4)  # 24 new articles, max_items 20
    add_subscriber(engine, "kim@example.kr")
    pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    msg = _message(engine, _rows(engine)[0])
    text = _text(msg, "plain")
    assert "사이트에서 4건 더 보기" in text and "사이트에서 4건 더 보기" in _text(msg, "html")
    listed = text.split("== 많이 본 뉴스 ==")[0]
    assert listed.count("\n* ") == 20


def test_already_shows_the_window_that_ran_after_a_manual_run(
    engine: Engine, settings: Settings
) -> None:
    """A scheduled run, then an operator's `--now` run, then the scheduler fires again: the
    answer names the scheduled run's own window, not one that ends before it starts."""
    load_store(engine)
    add_subscriber(engine, "lee@example.kr")
    sch = schedules()
    first = pipeline.run_digest(engine, settings, sch, "morning", now=NOW)
    later = NOW + timedelta(hours=2)
    manual = pipeline.run_digest(engine, settings, sch, "morning", now=later, manual=True)
    again = pipeline.run_digest(engine, settings, sch, "morning", now=later + timedelta(minutes=1))
    assert manual.status != "already" and first.window is not None
    assert again.status == "already" and again.run_id == first.run_id
    assert again.window is not None and again.window.start < again.window.end
    assert (again.window.start, again.window.end) == (first.window.start, first.window.end)


def test_a_test_copy_to_a_subscriber_carries_their_working_links(
    engine: Engine, settings: Settings
) -> None:
    """An editor who reads the list tests a digest on their own address: the copy's
    unsubscribe and preferences links are theirs, not dead links naming reader 0."""
    load_store(engine)
    add_subscriber(engine, "editor@example.kr", name="편집자")
    sch = schedules()
    assert testcopy.send_test(engine, settings, sch, "morning", to="Editor@Example.kr", now=NOW)
    assert testcopy.send_test(engine, settings, sch, "morning", to="desk@example.kr", now=NOW)
    with engine.connect() as conn:
        editor_id = store_subscribers.get_by_email(conn, "editor@example.kr")
    assert editor_id is not None
    secret = fanout.Identity.from_settings(settings).secret
    named = {}
    for row in _rows(engine):
        url = json.loads(row.substitutions)["%%UNSUBSCRIBE_URL%%"]
        named[row.recipient] = tokens.read(secret, "unsubscribe", url.rsplit("/", 1)[1], now=NOW)
    assert named == {"Editor@Example.kr": (editor_id.id,), "desk@example.kr": (0,)}
