"""Advertising consent older than two years: a reconfirmation mail with a signed link; no
answer within the grace period stops advertising mail, not editorial mail (injected clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.consent import history, reconfirm
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from tests.consent.adkit import ad_schedules, ad_settings
from tests.digestkit import NOW, add_subscriber, load_store
from tests.webkit import Web, link_in, message_of, open_web, outbox_rows, web_settings

LONG_AGO = NOW - timedelta(days=800)  # consent given then: older than reconfirm_after (730d)
ASKED = NOW - timedelta(days=40)
LAPSE_RUN = NOW - timedelta(days=5)  # 35 days after the ask: past reconfirm_grace (30d)


@pytest_asyncio.fixture
async def web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    async for w in open_web(web_settings(ad_settings(settings)), engine, clock):
        yield w


def _recipients(engine: Engine, digest_id: str) -> set[str]:
    return {r["recipient"] for r in outbox_rows(engine, "digest") if digest_id in r["dedupe_key"]}


@pytest.mark.asyncio
async def test_old_consent_is_asked_and_without_answer_advertising_stops(web: Web) -> None:
    engine, s = web.engine, web.settings
    add_subscriber(engine, "silent@example.kr", now=LONG_AGO)
    add_subscriber(engine, "answers@example.kr", now=LONG_AGO)
    add_subscriber(engine, "recent@example.kr", now=NOW - timedelta(days=100))
    done = reconfirm.run(engine, s, now=ASKED)
    assert done == reconfirm.Outcome(asked=2, lapsed=0)
    assert reconfirm.run(engine, s, now=ASKED + timedelta(days=1)).asked == 0  # asked once
    asks = {r["recipient"]: r for r in outbox_rows(engine, "digest")}
    assert set(asks) == {"silent@example.kr", "answers@example.kr"}
    mail = message_of(engine, asks["answers@example.kr"])
    assert "정보통신망법" in mail and "/u/" in mail  # why, and the way out
    # One reader answers by the signed link (a GET only asks; the POST answers).
    web.clock.set(ASKED + timedelta(days=3))
    path = link_in(mail, "reconfirm")
    assert (await web.client.get(path)).status_code == 200
    assert (await web.client.post(path)).status_code == 200
    assert reconfirm.run(engine, s, now=LAPSE_RUN) == reconfirm.Outcome(asked=0, lapsed=1)
    events = [e["event"] for e in history.history(engine, s.secret_key, "silent@example.kr")]
    assert events[-2:] == ["reconfirm_asked", "advertising_lapsed"]
    events = [e["event"] for e in history.history(engine, s.secret_key, "answers@example.kr")]
    assert events[-1] == "reconfirmed"
    # The next run of each digest: advertising skips the silent reader, editorial does not.
    load_store(engine, per_section=1)
    plan = ad_schedules()
    pipeline.run_digest(engine, s, plan, "offers", now=NOW)
    pipeline.run_digest(engine, s, plan, "morning", now=NOW)
    assert _recipients(engine, "offers") == {"answers@example.kr", "recent@example.kr"}
    assert "silent@example.kr" in _recipients(engine, "morning")


@pytest.mark.asyncio
async def test_a_bad_or_foreign_reconfirm_link_changes_nothing(web: Web) -> None:
    assert (await web.client.post("/reconfirm/not-a-token")).status_code == 400
    assert (await web.client.get("/reconfirm/not-a-token")).status_code == 400


@pytest.mark.asyncio
async def test_the_daemon_job_asks_with_the_injected_clock(
    settings: Settings, engine: Engine
) -> None:
    from publisher.app import App
    from publisher.daemon.jobtable import JobTable

    add_subscriber(engine, "old@example.kr", now=LONG_AGO)
    clock = FixedClock(LONG_AGO + timedelta(days=700))  # not two years yet: nothing
    app = App(settings=settings, clock=clock)
    app.__dict__["engine"] = engine  # the test's store
    runtime = JobTable(app)
    await runtime.reconfirm()
    assert outbox_rows(engine, "digest") == [] and not runtime.deliver_tick.is_set()
    clock.set(LONG_AGO + timedelta(days=731))
    await runtime.reconfirm()
    [row] = outbox_rows(engine, "digest")
    assert row["recipient"] == "old@example.kr" and runtime.deliver_tick.is_set()
    assert "/reconfirm/" in message_of(engine, row)
