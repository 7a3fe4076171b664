"""A reader's page shows their consent history (the consent log) and their breaking-news alert
choice; an admin changes the choice (audited, and logged as consent); others cannot."""

from __future__ import annotations

import pytest

from tests.console.consolekit import HTML, USERS, Console, audited, signed_in
from tests.digestkit import add_subscriber

pytestmark = pytest.mark.asyncio


async def test_admin_turns_alerts_on_and_the_consent_history_shows_it(console: Console) -> None:
    c = console.client
    sid = add_subscriber(console.engine, "reader@example.org", ("politics",))
    token = await signed_in(c, "admin")
    page = await c.get(f"/admin/subscribers/{sid}")
    assert 'id="alerts">받지 않음<' in page.text
    r = await c.post(f"/admin/subscribers/{sid}/alerts", data={"csrf": token, "alerts": "on"})
    assert r.status_code == 303
    page = await c.get(f"/admin/subscribers/{sid}")
    assert 'id="alerts">받음<' in page.text
    consent = page.text.split('id="consent"')[1].split("</table>")[0]
    assert "changed" in consent and "console" in consent and "alerts=True" in consent
    assert "sections=politics" in consent
    entry = audited(console.engine, "subscriber.alerts")[0]
    assert entry.actor == USERS["admin"] and entry.target == "reader@example.org"
    assert entry.detail == {"alerts": True}
    r = await c.post(f"/admin/subscribers/{sid}/alerts", data={"csrf": token, "alerts": "off"})
    assert 'id="alerts">받지 않음<' in (await c.get(f"/admin/subscribers/{sid}")).text


async def test_only_admins_change_the_alert_choice(console: Console) -> None:
    c = console.client
    sid = add_subscriber(console.engine, "reader@example.org")
    token = await signed_in(c, "editor")
    page = await c.get(f"/admin/subscribers/{sid}")
    assert f"/admin/subscribers/{sid}/alerts" not in page.text and 'id="consent"' in page.text
    r = await c.post(f"/admin/subscribers/{sid}/alerts", data={"csrf": token, "alerts": "on"})
    assert r.status_code == 403
    c.cookies.clear()
    token = await signed_in(c, "admin")
    assert (
        await c.post(f"/admin/subscribers/{sid}/alerts", data={"alerts": "on"})
    ).status_code == 403
    bad = await c.post(f"/admin/subscribers/{sid}/alerts", data={"csrf": token, "alerts": "yes"},
                       headers=HTML)  # fmt: skip
    assert bad.status_code == 400 and "alerts: on or off" in bad.text and "<nav" in bad.text
    assert 'id="alerts">받지 않음<' in (await c.get(f"/admin/subscribers/{sid}")).text
    assert audited(console.engine, "subscriber.alerts") == []
