"""Every state-changing console action lands in the audit log: who, what, when, from where;
the log is a page and a JSON Lines export."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.console.consolekit import USERS, Console, signed_in
from tests.digestkit import add_subscriber

pytestmark = pytest.mark.asyncio


async def test_each_action_is_recorded_with_who_and_where(console: Console) -> None:
    c = console.client
    sid = add_subscriber(console.engine, "reader@example.org", ("politics",))
    token = await signed_in(c, "admin")
    actions: list[tuple[str, dict[str, Any]]] = [
        ("/admin/suppressions", {"email": "x@example.org", "reason": "asked by phone"}),
        ("/admin/suppressions/remove", {"email": "x@example.org", "reason": "mistake"}),
        (f"/admin/subscribers/{sid}/choice", {"sections": ["economy"], "frequency": "daily"}),
        (f"/admin/subscribers/{sid}/unsubscribe", {}),
        ("/admin/articles/a0001/retract", {}),
        ("/admin/articles/a0001/restore", {}),
        ("/admin/outbox/retry", {"kind": ""}),
        ("/admin/digests/morning/test", {}),
        ("/admin/users", {"email": "new@example.kr", "role": "viewer"}),
        ("/admin/users/remove", {"email": "new@example.kr"}),
        (f"/admin/subscribers/{sid}/delete", {"confirm": "reader@example.org"}),
    ]
    for path, data in actions:
        r = await c.post(path, data={**data, "csrf": token})
        assert r.status_code in (200, 303), (path, r.status_code, r.text[:300])
    export = await c.get("/admin/audit.jsonl")
    assert export.status_code == 200
    entries = [json.loads(line) for line in export.text.splitlines()]
    done = [e["action"] for e in entries if e["actor"] == USERS["admin"]]
    assert done == [
        "signin", "suppression.add", "suppression.remove", "subscriber.choice",
        "subscriber.unsubscribe", "article.retract", "article.restore", "outbox.retry",
        "digest.test", "user.invite", "user.remove", "subscriber.delete",
    ]  # fmt: skip
    assert all(e["ip"] == "203.0.113.7" and e["at"] for e in entries)
    assert entries[2]["detail"]["reason"] == "mistake"
    page = (await c.get("/admin/audit")).text
    assert "suppression.add" in page and "203.0.113.7" in page


async def test_failed_sign_ins_are_recorded_too(console: Console) -> None:
    from tests.console.consolekit import sign_in

    await sign_in(console.client, "nobody@example.kr", "guess-guess")
    await signed_in(console.client, "admin")
    text = (await console.client.get("/admin/audit")).text
    assert "signin.failed" in text and "nobody@example.kr" in text


async def test_forwarded_client_ip_is_recorded_behind_a_trusted_proxy(console: Console) -> None:
    console.ctx.settings = console.settings.model_copy(
        update={"trust_forwarded_for": True, "trusted_proxies": ["203.0.113.0/24"]}
    )
    headers = {"X-Forwarded-For": "198.51.100.23"}
    async with console.new_client(headers=headers) as c:
        await signed_in(c, "admin")
        entries = [json.loads(x) for x in (await c.get("/admin/audit.jsonl")).text.splitlines()]
    assert entries[-1]["action"] == "signin" and entries[-1]["ip"] == "198.51.100.23"
