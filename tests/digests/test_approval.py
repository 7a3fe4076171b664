"""Approval of digest runs, as users meet it: the CLI runs a schedule that needs approval
(nothing is queued), the API approves it, the digest reaches a real SMTP server, and the
history says who approved it and when. Deadlines (skip, send) run on an injected clock."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.cli import app as cli
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.core.errors import ScheduleError
from publisher.delivery.configured import build_drain
from publisher.digests import approval, pipeline
from publisher.store.db import make_engine
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, SCHEDULES, add_subscriber, cli_store, load_store, schedules
from tests.smtpserver import SmtpServer
from tests.webkit import API_KEY, outbox_rows

runner = CliRunner()
APPROVAL = SCHEDULES.replace(
    "    first_window: 24h\n",
    "    first_window: 24h\n    approval: required\n    approval_deadline: 2h\n",
    1,
)
SENDING = APPROVAL.replace("approval_deadline: 2h\n", "approval_deadline: 2h\n"
                           "    approval_on_deadline: send\n", 1)  # fmt: skip
HEADERS = {"X-API-Key": API_KEY}


def _web(settings: Settings, engine: Engine, clock: FixedClock, text: str) -> httpx.AsyncClient:
    s = settings.model_copy(update={"api_keys": [API_KEY]})
    ctx = WebContext(s, clock=clock, engine_=engine, schedules_=schedules(text))
    transport = httpx.ASGITransport(app=create_app(s, context=ctx))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=HEADERS)


@pytest.mark.asyncio
async def test_cli_run_waits_api_approves_smtp_receives_history_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = cli_store(tmp_path, monkeypatch)
    (tmp_path / "schedules.yaml").write_text(APPROVAL, encoding="utf-8")
    engine = make_engine(f"sqlite:///{db}")
    for who in ("kim@example.kr", "lee@example.kr"):
        add_subscriber(engine, who)
    ran = runner.invoke(cli, ["digest", "run", "morning", "--at", "2026-11-24T07:00:30"])
    assert ran.exit_code == 0, ran.output
    assert "awaiting_approval" in ran.output and "enqueued 0" in ran.output
    assert outbox_rows(engine) == []  # nothing queued before an editor says yes
    listed = runner.invoke(cli, ["digest", "pending"])
    run_id = int(listed.output.splitlines()[1].split("\t")[0])
    assert "\tmorning\t" in listed.output

    server = await SmtpServer().start()
    settings = Settings().model_copy(update={"smtp_url": server.url})
    clock = FixedClock(NOW + timedelta(minutes=20))
    async with _web(settings, engine, clock, APPROVAL) as client:
        waiting = (await client.get("/api/runs", params={"state": "awaiting_approval"})).json()
        assert [r["id"] for r in waiting["runs"]] == [run_id]
        info = (await client.get(f"/api/runs/{run_id}")).json()
        assert info["recipients_now"] == 2 and info["variants"]
        page = await client.get(f"/api/runs/{run_id}/preview")
        assert page.status_code == 200 and "sandbox" in page.headers["content-security-policy"]
        assert "아침" in page.text and page.headers["x-recipients"] == "2"
        variant = await client.get(
            f"/api/runs/{run_id}/preview", params={"variant": info["variants"][0]}
        )
        assert "%%UNSUBSCRIBE_URL%%" in variant.text  # a reader's copy, links still unfilled
        ok = await client.post(f"/api/runs/{run_id}/approve", json={"by": "편집장"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["enqueued"] == 2 and ok.json()["by"] == "api:편집장"
        again = await client.post(f"/api/runs/{run_id}/approve")
        assert again.status_code == 409 and "is enqueued by api:편집장" in again.text
        nokey = await client.post(f"/api/runs/{run_id}/reject", headers={"X-API-Key": "x"})
        assert nokey.status_code == 401

    drain = build_drain(settings, engine, clock)
    report = await drain.run(until_empty=True)
    await server.stop()
    assert report.sent == 2
    assert server.record.recipients() == {"kim@example.kr": 1, "lee@example.kr": 1}
    msg = email.message_from_bytes(server.record.messages[0][1], policy=email.policy.default)
    assert "아침 브리핑" in str(msg["Subject"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    hist = runner.invoke(cli, ["digest", "history", "morning"])
    row = next(line for line in hist.output.splitlines() if line.startswith(f"{run_id}\t"))
    assert "\tenqueued\t" in row and "\t2\t0\t0\tapi:편집장 2026-11-23 22:20" in row
    engine.dispose()


@pytest.mark.asyncio
async def test_reject_holds_for_good_and_hostile_ids(
    engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    load_store(engine)
    add_subscriber(engine, "kim@example.kr")
    r = pipeline.run_digest(engine, settings, schedules(APPROVAL), "morning", now=NOW)
    assert r.status == "awaiting_approval" and r.enqueued == 0 and r.run_id is not None
    clock.set(NOW + timedelta(minutes=5))
    async with _web(settings, engine, clock, APPROVAL) as client:
        assert (await client.post("/api/runs/999999/approve")).status_code == 404
        assert (await client.post("/api/runs/abc/approve")).status_code == 422
        assert (await client.post("/api/runs/-1/reject")).status_code == 422
        assert (await client.post(f"/api/runs/{2**70}/reject")).status_code == 422
        bad = await client.post(f"/api/runs/{r.run_id}/approve", json={"by": "x" * 500})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "by"
        junk = await client.post(
            f"/api/runs/{r.run_id}/approve",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        assert junk.status_code == 400
        assert (await client.get("/api/runs", params={"state": "nope"})).status_code == 422
        held = await client.post(f"/api/runs/{r.run_id}/reject", json={"by": "desk"})
        assert held.json()["status"] == "held"
        late = await client.post(f"/api/runs/{r.run_id}/approve")
        assert late.status_code == 409 and "held by api:desk" in late.json()["error"]["message"]
        gone = await client.get(f"/api/runs/{r.run_id}/preview", params={"variant": "zzz"})
        assert gone.status_code == 404
    assert outbox_rows(engine) == []
    # The next run does not offer the held window's articles again.
    later = pipeline.run_digest(
        engine, settings, schedules(APPROVAL), "morning", now=NOW + timedelta(days=1)
    )
    assert later.status == "too_few"


@pytest.mark.parametrize(
    ("text", "status", "rows"), [(APPROVAL, "skipped", 0), (SENDING, "enqueued", 1)]
)
def test_deadline_skips_or_sends_on_the_injected_clock(
    any_engine: Engine, settings: Settings, text: str, status: str, rows: int
) -> None:
    load_store(any_engine)
    add_subscriber(any_engine, "kim@example.kr")
    sched = schedules(text)
    r = pipeline.run_digest(any_engine, settings, sched, "morning", now=NOW)
    assert r.run_id is not None
    due = NOW - timedelta(seconds=30) + timedelta(hours=2)
    assert (
        approval.settle_deadlines(any_engine, settings, sched, now=due - timedelta(seconds=1)) == []
    )
    done = approval.settle_deadlines(any_engine, settings, sched, now=due)
    assert [(d.run_id, d.status, d.by) for d in done] == [(r.run_id, status, "deadline")]
    assert len(outbox_rows(any_engine, "digest")) == rows
    run = approval.get_run(any_engine, r.run_id)
    assert run.status == status and run.decided_by == "deadline" and run.decided_at == due
    assert (
        approval.settle_deadlines(any_engine, settings, sched, now=due + timedelta(hours=1)) == []
    )
    with pytest.raises(approval.NotWaiting):  # decided: an editor's late click changes nothing
        approval.approve(any_engine, settings, sched, r.run_id, by="late", now=due)


def test_late_approval_is_refused_before_the_job_settles(
    engine: Engine, settings: Settings
) -> None:
    load_store(engine)
    add_subscriber(engine, "kim@example.kr")
    sched = schedules(APPROVAL)
    r = pipeline.run_digest(engine, settings, sched, "morning", now=NOW)
    assert r.run_id is not None
    with pytest.raises(approval.NotWaiting, match="deadline rule"):
        approval.approve(engine, settings, sched, r.run_id, by="x", now=NOW + timedelta(hours=3))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    approval: required\n", "approval: required needs approval_deadline"),
        ("    approval_deadline: 2h\n", "approval_deadline only with approval: required"),
        ("    approval: required\n    approval_deadline: soon\n", "approval_deadline"),
        ("    approval: required\n    approval_deadline: 1h\n    approval_on_deadline: maybe\n",
         "approval_on_deadline"),
    ],
)  # fmt: skip
def test_schedule_approval_shape_is_validated(extra: str, message: str) -> None:
    text = SCHEDULES.replace("    first_window: 24h\n", "    first_window: 24h\n" + extra, 1)
    with pytest.raises(ScheduleError, match=message):
        schedules(text)


def test_two_editors_approving_at_once_queue_the_run_once(
    any_engine: Engine, settings: Settings
) -> None:
    import threading

    load_store(any_engine)
    add_subscriber(any_engine, "kim@example.kr")
    sched = schedules(APPROVAL)
    r = pipeline.run_digest(any_engine, settings, sched, "morning", now=NOW)
    assert r.run_id is not None
    run_id = r.run_id
    gate = threading.Barrier(2)
    results: list[object] = []

    def approve(who: str) -> None:
        gate.wait(timeout=30)
        try:
            results.append(approval.approve(any_engine, settings, sched, run_id, by=who, now=NOW))
        except approval.NotWaiting as exc:
            results.append(exc)

    threads = [threading.Thread(target=approve, args=(w,)) for w in ("kim", "lee")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(type(x).__name__ for x in results) == ["Decision", "NotWaiting"]
    assert len(outbox_rows(any_engine, "digest")) == 1


def test_approval_queues_for_the_readers_of_the_moment(engine: Engine, settings: Settings) -> None:
    from publisher.consent.record import act_of
    from publisher.readers import signup

    load_store(engine)
    kim = add_subscriber(engine, "kim@example.kr")
    add_subscriber(engine, "park@example.kr", ("politics",))
    sched = schedules(APPROVAL)
    r = pipeline.run_digest(engine, settings, sched, "morning", now=NOW)
    assert r.run_id is not None and r.variants == 2
    # Meanwhile one reader leaves and one with a section choice nobody had arrives.
    signup.unsubscribe_id(engine, kim, now=NOW + timedelta(minutes=1), act=act_of(settings, "cli"))
    add_subscriber(engine, "lee@example.kr", ("sports",))
    assert approval.recipients_now(engine, sched, approval.get_run(engine, r.run_id)) == 2
    d = approval.approve(
        engine, settings, sched, r.run_id, by="desk", now=NOW + timedelta(minutes=5)
    )
    assert (d.enqueued, d.recipients) == (2, 2)
    rows = {x["recipient"]: x["content_id"] for x in outbox_rows(engine, "digest")}
    assert set(rows) == {"park@example.kr", "lee@example.kr"}
    assert rows["park@example.kr"] != rows["lee@example.kr"]  # lee's variant rendered now
    assert approval.get_run(engine, r.run_id).recipient_count == 2


def test_a_manual_run_after_a_rejected_one_does_not_offer_its_articles(
    engine: Engine, settings: Settings
) -> None:
    """`digest run --now` (and the console's "send now") start after the last window that was
    taken: a rejected run's articles are not offered again, as the README promises."""
    load_store(engine)
    add_subscriber(engine, "kim@example.kr")
    sched = schedules(APPROVAL)
    first = pipeline.run_digest(engine, settings, sched, "morning", now=NOW, manual=True)
    assert first.status == "awaiting_approval" and first.run_id is not None
    approval.reject(engine, first.run_id, by="desk", now=NOW + timedelta(minutes=1))
    again = pipeline.run_digest(
        engine, settings, sched, "morning", now=NOW + timedelta(minutes=2), manual=True
    )
    assert again.window is not None and first.window is not None
    assert again.window.start == first.window.end
    assert again.status == "too_few"  # nothing new since the rejected run
