"""Hold and resume a digest in the console: an editor holds it with a reason, the next run is
skipped and says so, the page shows the hold, resume lets runs go again; a viewer cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import holds, pipeline
from tests.console.consolekit import Console, audited, open_console, signed_in
from tests.digestkit import NOW, SCHEDULES, add_subscriber, schedules
from tests.webkit import outbox_rows

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def console(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Console]:
    async for c in open_console(settings, engine, clock, SCHEDULES):
        add_subscriber(engine, "kim@example.kr")
        yield c


async def test_editor_holds_and_resumes_a_digest(console: Console, settings: Settings) -> None:
    c = console.client
    token = await signed_in(c, "editor")
    r = await c.post("/admin/digests/morning/hold", data={"csrf": token, "reason": "선거 보도"})
    assert r.status_code == 303
    page = await c.get("/admin/digests/morning")
    assert 'id="held"' in page.text and "선거 보도" in page.text and "/resume" in page.text
    skipped = pipeline.run_digest(
        console.engine, settings, schedules(SCHEDULES), "morning", now=NOW
    )
    assert skipped.status == "held" and outbox_rows(console.engine) == []
    assert audited(console.engine, "digest.hold")[0].detail["reason"] == "선거 보도"

    r = await c.post("/admin/digests/morning/resume", data={"csrf": token})
    assert r.status_code == 303 and holds.holding_of(console.engine, "morning") is None
    assert 'id="held"' not in (await c.get("/admin/digests/morning")).text
    assert audited(console.engine, "digest.resume")[0].target == "morning"
    sent = pipeline.run_digest(console.engine, settings, schedules(SCHEDULES), "morning", now=NOW)
    assert sent.status == "enqueued"


async def test_a_viewer_cannot_hold_and_an_unknown_digest_is_404(console: Console) -> None:
    c = console.client
    token = await signed_in(c, "viewer")
    assert (await c.post("/admin/digests/morning/hold", data={"csrf": token})).status_code == 403
    page = await c.get("/admin/digests/morning")
    assert "/hold" not in page.text
    assert holds.holding_of(console.engine, "morning") is None
    c.cookies.clear()
    token = await signed_in(c, "editor")
    assert (await c.post("/admin/digests/nope/hold", data={"csrf": token})).status_code == 404
