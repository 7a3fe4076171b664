"""The daemon's drain with half a DKIM configuration, or a key that cannot sign: it sends
nothing (unsigned or at all), and the supervisor reports the named error."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from publisher.app import App
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.daemon.jobtable import JobTable
from publisher.daemon.supervise import Backoff, PartState, supervise
from publisher.store.types import Engine
from tests.outboxkit import fill, statuses

pytestmark = pytest.mark.asyncio


async def _supervised_reason(app: App) -> str:
    """Run the daemon's drain under its supervisor until it is reported down; the reason."""
    runtime = JobTable(app)
    state, stop = PartState("drain"), asyncio.Event()
    backoff = Backoff(first=timedelta(seconds=30), healthy_after=timedelta(seconds=30))
    task = asyncio.create_task(supervise(runtime.drain_forever, stop, state, backoff))
    deadline = time.monotonic() + 20
    try:
        while state.up and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # polling the supervisor's state, with a deadline
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        runtime.http.close()
    assert not state.up, "the drain was not reported down"
    return state.reason


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"dkim_selector": "s1"}, "dkim_private_key_file: required when dkim_selector is set"),
        ({"dkim_private_key_file": "/etc/dkim.pem"}, "dkim_selector: required"),
        ({"dkim_selector": "s1", "dkim_private_key_file": "GARBAGE"}, "cannot sign"),
    ],
)
async def test_half_or_broken_dkim_config_stops_the_daemon_drain_and_sends_nothing(
    settings: Settings,
    engine: Engine,
    clock: FixedClock,
    tmp_path: Path,
    extra: dict[str, str],
    named: str,
) -> None:
    if extra.get("dkim_private_key_file") == "GARBAGE":
        key = tmp_path / "garbage.pem"
        key.write_text("not a key\n")
        extra = extra | {"dkim_private_key_file": str(key)}
    fill(engine, clock, 5)
    app = App(settings=settings.model_copy(update=extra), clock=clock)
    reason = await _supervised_reason(app)
    assert reason.startswith("DkimError: ") and named in reason
    assert statuses(engine) == {"queued": 5}
    mail = Path(settings.smtp_url.removeprefix("maildir://"))
    assert not list(mail.glob("*/*"))  # nothing went out unsigned
