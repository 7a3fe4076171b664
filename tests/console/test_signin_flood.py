"""Sign-in floods over HTTP: an attacker locking an operator out or hammering the form must
not grow the database or bury the audit log, and an admin can lift the lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from publisher.core.addresses import canonical, normalise
from publisher.staff import accounts
from publisher.store.schema import rate_counters
from tests.console.consolekit import PASSWORD, USERS, Console, audited, csrf_of, sign_in

pytestmark = pytest.mark.asyncio


def counter_rows(console: Console) -> int:
    with console.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rate_counters)).scalar_one())


async def test_a_flood_on_one_form_adds_one_throttled_entry_and_no_rows(console: Console) -> None:
    c = console.client
    page = await c.get("/admin/signin")
    token = csrf_of(page.text)  # one form, reused 300 times, 300 made-up 300-character actors
    actors = [f"{i:03d}" + "x" * 297 for i in range(150)]
    actors += [f"{i:03d}" + "y" * 280 + "@example.kr" for i in range(150)]
    codes = []
    for actor in actors:
        r = await c.post("/admin/signin", data={"csrf": token, "email": actor, "password": "p"})
        codes.append(r.status_code)
    limit = console.settings.console_signin_per_ip
    assert codes == [401] * limit + [429] * (len(actors) - limit)
    assert len(audited(console.engine, "signin.throttled")) == 1
    # One row for the IP and one per address tried before the limit; none for the rest.
    assert counter_rows(console) == limit + 1
    for row in audited(console.engine, "signin.failed") + audited(
        console.engine, "signin.throttled"
    ):
        assert len(row.actor) <= 254
        assert row.actor == "(not an address)" or canonical(normalise(row.actor)) == row.actor


async def test_a_locked_operator_is_audited_once_and_an_admin_unlocks(console: Console) -> None:
    c, victim = console.client, USERS["editor"]
    most = console.settings.console_signin_per_account
    codes = [(await sign_in(c, victim, "wrong-wrong")).status_code for _ in range(most + 5)]
    assert codes == [401] * most + [429] * 5
    assert (await sign_in(c, victim)).status_code == 429  # locked, even with the password
    throttled = audited(console.engine, "signin.throttled")
    assert [(t.actor, t.detail.get("limit")) for t in throttled] == [(victim, "account")]
    # `publisher users add` again (or the console's invite) lifts the lock at once.
    accounts.invite(console.engine, victim, role="editor", now=console.clock.now(),
                    valid=timedelta(hours=24))  # fmt: skip
    assert (await sign_in(c, victim)).status_code == 303


async def test_the_mark_is_per_window(console: Console) -> None:
    c, victim = console.client, USERS["viewer"]
    most = console.settings.console_signin_per_account
    for _ in range(most + 2):
        await sign_in(c, victim, "wrong-wrong")
    console.clock.advance(timedelta(minutes=console.settings.console_signin_window_minutes))
    for _ in range(most + 2):
        await sign_in(c, victim, "wrong-wrong")
    assert len(audited(console.engine, "signin.throttled")) == 2
    assert (await sign_in(c, victim, PASSWORD)).status_code == 429
