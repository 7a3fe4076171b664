"""The run report: per-article clicks (human, machine), rates per position and section, the
unique-click estimate and the run's delivery; by CLI and API (issue 16)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from publisher.cli import app as cli_app
from publisher.core.clock import FixedClock
from publisher.delivery.configured import build_drain
from tests.analytics.clickkit import READERS, ClickWeb
from tests.webkit import API_KEY

pytestmark = pytest.mark.asyncio
SCANNER_UA = "Mozilla/5.0 (Proofpoint URL Defense)"


async def _deliver(cw: ClickWeb) -> None:
    drain = build_drain(cw.settings, cw.engine, FixedClock(cw.clock.now()))
    report = await drain.run(until_empty=True)
    assert report.sent == 2


async def test_the_report_shows_people_and_machines_apart(
    cw: ClickWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _deliver(cw)
    minsu, jane = cw.links[READERS[0]], cw.links[READERS[1]]
    async with cw.client(ip="198.51.100.1") as c:
        await c.get(minsu[0])
        await c.get(minsu[0])  # a repeat: not counted
    async with cw.client(ip="198.51.100.2") as c:
        await c.get(jane[0])
        await c.get(jane[2])
    async with cw.client(ip="198.51.100.3", ua=SCANNER_UA) as c:
        for link in jane:
            await c.get(link)
    await cw.ctx.flush_views()

    async with cw.client() as c:
        assert (await c.get(f"/api/runs/{cw.run_id}/report")).status_code == 401
        r = await c.get(f"/api/runs/{cw.run_id}/report", headers={"X-API-Key": API_KEY})
        assert r.status_code == 200
        missing = await c.get("/api/runs/999/report", headers={"X-API-Key": API_KEY})
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "run_id"
    data = r.json()
    assert data["delivery"]["recipients"] == 2 and data["delivery"]["delivered"] == 2
    assert data["delivery"]["bounces"] == 0 and data["delivery"]["complaints"] == 0
    assert data["human"] == 3 and data["machine"] == len(jane)
    assert data["machine_by_reason"] == {"scanner-agent": len(jane)}
    assert data["unique_clicks_estimate"] == 2 and data["unique_click_rate"] == 1.0
    first = data["positions"][0]
    assert first == {"key": "1", "human": 2, "machine": 1, "rate": 1.0}
    by_article = {a["external_id"]: a for a in data["articles"]}
    assert sum(a["human"] for a in by_article.values()) == 3
    # Both variants lead with the same politics article: its two readers, at position 1.
    top = data["articles"][0]
    assert top["human"] == 2 and top["positions"][0] == 1 and top["section"] == "politics"
    sections = {s["key"]: s for s in data["sections"]}
    assert sum(s["human"] for s in sections.values()) == 3
    assert data["opens"] is None

    env = {"PUBLISHER_DATABASE_URL": cw.settings.database_url,
           "PUBLISHER_SECRET_KEY": cw.settings.secret_key}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    as_json = runner.invoke(cli_app, ["digest", "report", str(cw.run_id), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["human"] == 3
    text = runner.invoke(cli_app, ["digest", "report", str(cw.run_id)])
    assert text.exit_code == 0
    assert "human 3\tmachine" in text.output and "scanner-agent" in text.output
    assert "position\thuman\tmachine\trate" in text.output
    none = runner.invoke(cli_app, ["digest", "report", "999"])
    assert none.exit_code == 2 and "no digest run 999" in none.output


async def test_opens_are_reported_as_unreliable(cw: ClickWeb) -> None:
    from publisher.analytics.links import ClickLinks
    from publisher.analytics.report import run_report

    pixel = ClickLinks(
        base_url="", secret=cw.settings.secret_key, run_id=cw.run_id, variant=1,
        now=cw.clock.now(),
    ).open_pixel()  # fmt: skip
    async with cw.client() as c:
        r = await c.get(pixel)
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
        assert (await c.get(pixel.replace("/o/", "/c/"))).status_code == 404  # not a link
    await cw.ctx.flush_views()
    found = run_report(cw.engine, cw.run_id)
    assert found.opens is not None and found.opens.count == 1 and not found.opens.reliable
    assert "Apple Mail Privacy Protection" in found.opens.caveat
    assert found.human == 0  # an open is not a click
