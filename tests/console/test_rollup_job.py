"""The daemon keeps the console's daily counts current with a cheap interval job."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.daemon.jobtable import JobTable
from publisher.staff import dashboard
from tests.digestkit import schedules

pytestmark = pytest.mark.asyncio


async def test_rollup_job_runs_every_few_minutes(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    app = App(settings=settings, clock=clock)
    table = JobTable(app)
    try:
        spec = next(s for s in table.jobs(schedules()) if s.job_id == "rollup")
        assert str(settings.console_rollup_minutes) in str(spec.trigger)
        await spec.func()
        assert dashboard.last_rollup(engine) == clock.now()
    finally:
        table.http.close()
