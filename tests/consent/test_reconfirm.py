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
from publisher.messages import enqueue
from publisher.store import outbox as store_outbox
from publisher.store import suppressions
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
    asks = {r["recipient"]: r for r in outbox_rows(engine, "reconfirm")}
    assert set(asks) == {"silent@example.kr", "answers@example.kr"}
    assert outbox_rows(engine, "digest") == []  # its own kind, not counted as a digest
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
    assert outbox_rows(engine) == [] and not runtime.deliver_tick.is_set()
    clock.set(LONG_AGO + timedelta(days=731))
    await runtime.reconfirm()
    [row] = outbox_rows(engine)
    assert row["kind"] == "reconfirm"
    assert row["recipient"] == "old@example.kr" and runtime.deliver_tick.is_set()
    assert "/reconfirm/" in message_of(engine, row)


def test_the_mail_is_its_own_kind_with_its_own_expiry(settings: Settings, engine: Engine) -> None:
    s = settings.model_copy(update={"expiry_reconfirm": timedelta(days=5)})
    add_subscriber(engine, "old@example.kr", now=LONG_AGO)
    assert reconfirm.run(engine, s, now=ASKED).asked == 1
    [row] = outbox_rows(engine)
    assert row["kind"] == "reconfirm"
    assert row["expires_at"] - row["created_at"] == timedelta(days=5)
    with engine.connect() as conn:
        kinds = {k for _s, k, _n in store_outbox.status_counts(conn)}
    assert kinds == {"reconfirm"}  # what `outbox status` counts it as


def test_no_reconfirmation_reaches_a_reader_who_left_or_bounced_meanwhile(
    settings: Settings, engine: Engine
) -> None:
    for who in ("left", "bounced", "stays"):
        add_subscriber(engine, f"{who}@example.kr", now=LONG_AGO)
    assert reconfirm.run(engine, settings, now=ASKED).asked == 3
    # Queued, then (before the drain) one reader unsubscribes and another hard-bounces. A
    # confirmation passes the reader's own unsubscribe; a reconfirmation must not.
    with engine.begin() as conn:
        suppressions.add(conn, ["left@example.kr"], reason="unsubscribed", now=ASKED)
        suppressions.add(conn, ["bounced@example.kr"], reason="hard_bounce", now=ASKED)
        live, set_aside = enqueue.claim(
            conn, owner="t", now=ASKED, lease=timedelta(minutes=5), limit=10
        )
    assert [(c.kind, c.recipient) for c in live] == [("reconfirm", "stays@example.kr")]
    assert set_aside == 2
    assert enqueue.blocks("reconfirm", {("all", "unsubscribed")})
    assert not enqueue.blocks("confirm", {("all", "unsubscribed")})


def test_removing_a_reader_cancels_their_queued_reconfirmation(
    engine: Engine, settings: Settings
) -> None:
    from publisher.consent.record import act_of
    from publisher.readers import subscribers

    s = ad_settings(settings)
    add_subscriber(engine, "gone@example.kr", now=LONG_AGO)
    add_subscriber(engine, "stays@example.kr", now=LONG_AGO)
    assert reconfirm.run(engine, s, now=ASKED).asked == 2

    cancelled = subscribers.remove(engine, "gone@example.kr", now=ASKED, act=act_of(s, "cli"))

    assert cancelled == 1  # before: 0, the reconfirmation stayed queued for a removed reader
    status = {r["recipient"]: r["status"] for r in outbox_rows(engine, "reconfirm")}
    assert status["gone@example.kr"] != "queued" and status["stays@example.kr"] == "queued"
