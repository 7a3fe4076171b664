"""The console's outbox page tells rows held for the quiet hours from rows due now."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.console.consolekit import Console, add_messages, signed_in
from tests.digestkit import NOW

pytestmark = pytest.mark.asyncio


async def test_the_outbox_page_shows_the_held_rows_and_until_when(console: Console) -> None:
    opens = NOW + timedelta(hours=9)
    add_messages(console.engine, [("digest", "queued", opens)] * 3)  # held: due only then
    add_messages(console.engine, [("confirm", "queued", NOW)] * 2)  # due now
    await signed_in(console.client, "viewer")
    page = await console.client.get("/admin/outbox?lang=en")
    assert page.status_code == 200, page.text
    local = opens.astimezone(console.settings.tz).strftime("%Y-%m-%d %H:%M")
    assert f"Held for quiet hours: 3 until {local} (2 due now)" in page.text
    console.clock.set(opens)  # the window opened: nothing held any more
    page = await console.client.get("/admin/outbox?lang=en")
    assert "Held for quiet hours" not in page.text
