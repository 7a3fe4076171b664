from __future__ import annotations

import pytest

from tests.console.consolekit import Console, signed_in

pytestmark = pytest.mark.asyncio


async def test_every_page_renders_for_an_admin(console: Console) -> None:
    c = console.client
    await signed_in(c, "admin")
    for path in ("/admin/", "/admin/digests", "/admin/digests/morning", "/admin/subscribers?q=a",
                 "/admin/suppressions", "/admin/outbox", "/admin/articles", "/admin/audit",
                 "/admin/users", "/admin/digests/morning/preview.html"):  # fmt: skip
        r = await c.get(path)
        assert r.status_code == 200, (path, r.text[:2000])
        assert "built-in method" not in r.text, path  # a key shadowed by a dict method
