"""The dashboard reads daily counts that a cheap rollup keeps; its charts are server SVG."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from publisher.core.config import Settings
from publisher.staff import dashboard
from publisher.store.schema import subscribers, suppressions
from tests.console.consolekit import Console, add_messages, signed_in
from tests.digestkit import NOW, add_subscriber

pytestmark = pytest.mark.asyncio
SEOUL_MIDNIGHT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 24 Nov 00:00 in Seoul


async def test_rollup_counts_per_local_day_and_recounts_only_recent_days(console: Console) -> None:
    e = console.engine
    before, after = SEOUL_MIDNIGHT - timedelta(minutes=5), SEOUL_MIDNIGHT + timedelta(minutes=5)
    add_messages(e, [("digest", "sent", before)] * 3 + [("digest", "failed", after),
                     ("test", "sent", after), ("digest", "queued", after)])  # fmt: skip
    sid = add_subscriber(e, "a@example.org", now=after)
    with e.begin() as conn:
        conn.execute(update(subscribers).where(subscribers.c.id == sid).values(confirmed_at=after))
        conn.execute(insert(suppressions).values(
            email="b@example.org", scope="all", reason="hard_bounce", detail="", created_at=after
        ))  # fmt: skip
    tz = console.settings.tz
    dashboard.rollup(e, now=NOW, tz=tz)
    board = dashboard.gather(e, now=NOW, tz=tz, days=3)
    days = {d.day: d for d in board.days}
    assert days["2026-11-23"].messages == {"digest:sent": 3}
    assert days["2026-11-24"].messages == {"digest:failed": 1, "test:sent": 1}
    assert (days["2026-11-24"].confirmed, days["2026-11-24"].bounced) == (1, 1)
    assert days["2026-11-24"].rate(1) == 1.0
    assert board.waiting == {"queued": 1}
    # A day older than the one before the last rollup stays as counted (purged rows or not).
    later = NOW + timedelta(days=3)
    dashboard.rollup(e, now=later, tz=tz)
    add_messages(e, [("digest", "sent", SEOUL_MIDNIGHT - timedelta(hours=1))])
    later += timedelta(minutes=5)
    dashboard.rollup(e, now=later, tz=tz)
    board = dashboard.gather(e, now=later, tz=tz, days=6)
    assert {d.day: d for d in board.days}["2026-11-23"].messages == {"digest:sent": 3}


async def test_dashboard_shows_three_svg_charts_without_scripts(console: Console) -> None:
    add_messages(console.engine, [("digest", "sent", NOW - timedelta(hours=1))])
    dashboard.rollup(console.engine, now=NOW, tz=console.settings.tz)
    c = console.client
    await signed_in(c, "viewer")
    page = (await c.get("/admin/")).text
    assert page.count("<svg") == 3
    assert "<script" not in page.replace('<script src="/admin/static/console.js" defer>', "")
    assert "digest:sent" in page and "0.3 %" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing fetched from afar


async def test_first_dashboard_view_starts_a_rollup_in_the_background(console: Console) -> None:
    assert dashboard.last_rollup(console.engine) is None
    await signed_in(console.client, "viewer")  # it opens the dashboard
    task = console.ctx.state["console-rollup"]
    await task
    assert dashboard.last_rollup(console.engine) == NOW


async def test_static_assets_are_served_by_publisher(console: Console) -> None:
    css = await console.client.get("/admin/static/console.css")
    js = await console.client.get("/admin/static/console.js")
    assert css.status_code == js.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert (await console.client.get("/admin/static/..%2Fbase.html.j2")).status_code == 404


async def test_preflight_compiles_the_console_templates(settings: Settings, tmp_path: Path) -> None:
    from publisher.messages import fanout
    from publisher.render.templates import template_problems

    root = tmp_path / "templates"
    shutil.copytree(settings.templates_dir, root)
    assert template_problems(fanout.renderer_for(settings), root) == []
    (root / "console" / "users.html.j2").write_text("{% if %}", "utf-8")
    [problem] = template_problems(fanout.renderer_for(settings), root)
    assert problem.startswith("console/users.html.j2:1:")
