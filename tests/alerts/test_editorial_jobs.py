"""The daemon's editorial jobs run on the daemon's clock: `approvals` settles a run past its
deadline, `alerts` sends what an intake marked breaking."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.daemon.jobtable import JobTable
from publisher.digests import approval, pipeline
from publisher.intake import articles as articles_uc
from publisher.intake.validate import validate_article
from tests.alerts.alertkit import reader
from tests.digestkit import NOW, SCHEDULES, load_store, schedules
from tests.webkit import outbox_rows

APPROVAL = SCHEDULES.replace(
    "    first_window: 24h\n",
    "    first_window: 24h\n    approval: required\n    approval_deadline: 1h\n"
    "    approval_on_deadline: send\n",
    1,
)


@pytest.mark.asyncio
async def test_jobs_settle_deadlines_and_send_breaking_news(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    load_store(engine)
    reader(engine, "kim@example.kr", alerts=True)
    sched = schedules(APPROVAL)
    run = pipeline.run_digest(engine, settings, sched, "morning", now=NOW)
    assert run.status == "awaiting_approval" and run.run_id is not None
    marked = validate_article(
        {"id": "quake", "url": "https://news.example.kr/q", "title": "지진",
         "published_at": "2026-11-24T06:55:00+09:00", "breaking": True},
        tz=settings.tz,
    )  # fmt: skip
    assert not isinstance(marked, list) and marked.breaking
    articles_uc.write_articles(engine, [marked], now=NOW)

    clock = FixedClock(NOW + timedelta(minutes=10))
    app = App(settings=settings, clock=clock)
    app.__dict__["engine"] = engine  # the test's store, not one built from the settings
    table = JobTable(app)
    await table.approvals(sched)()
    assert approval.get_run(engine, run.run_id).status == "awaiting_approval"
    await table.alerts()
    assert [r["recipient"] for r in outbox_rows(engine, "alert")] == ["kim@example.kr"]
    assert table.deliver_tick.is_set()

    clock.set(NOW + timedelta(hours=1))
    await table.approvals(sched)()
    done = approval.get_run(engine, run.run_id)
    assert (done.status, done.decided_by) == ("enqueued", "deadline")
    assert [r["recipient"] for r in outbox_rows(engine, "digest")] == ["kim@example.kr"]
