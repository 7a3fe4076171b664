"""Complaints are counted against their digest run: `digest history` and the API show them
with the complaint rate; past complaint_warning_rate a warning is logged, past
complaint_hold_rate the digest is held (its runs skipped, saying so) until `digest resume`."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.web.app import create_app
from publisher.web.context import WebContext
from tests.digestkit import NOW, schedules
from tests.inbound import mailkit
from tests.inbound.inboundkit import inbound_env, sent_digest

runner = CliRunner()


def _complain(tmp_path: Path, verp: str, rcpt: str, n: int) -> None:
    path = tmp_path / f"arf{n}.eml"
    path.write_bytes(mailkit.arf(verp, rcpt, mid=f"<arf{n}@fbl>"))
    result = runner.invoke(app, ["inbound", "process", str(path)])
    assert result.exit_code == 0 and "complaint" in result.output, result.output


def test_complaint_rate_warns_then_holds_until_resumed(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    inbound_env(settings, tmp_path, monkeypatch, COMPLAINT_WARNING_RATE="0.1",
                COMPLAINT_HOLD_RATE="0.2", API_KEYS='["k-0123456789abcdef"]')  # fmt: skip
    rows = sent_digest(engine, settings, 10)
    caplog.set_level(logging.WARNING, logger="publisher")
    _complain(tmp_path, rows[0].verp, rows[0].recipient, 0)
    assert "complaint rate 10.00% (1 of 10) passed 10.00%" in caplog.text
    assert "CIRCUIT BREAKER" not in caplog.text
    hist = runner.invoke(app, ["digest", "history", "morning"])
    assert hist.output.splitlines()[0].endswith(
        "hard bounces\tsoft bounces\tcomplaints\tcomplaint rate"
    )
    assert hist.output.splitlines()[1].endswith("\t0\t0\t1\t10.00%")
    _complain(tmp_path, rows[1].verp, rows[1].recipient, 1)
    assert "COMPLAINT CIRCUIT BREAKER: digest morning held" in caplog.text
    hist = runner.invoke(app, ["digest", "history", "morning"])
    assert "held by inbound" in hist.output and "complaint rate 20.00% of run" in hist.output

    later = NOW + timedelta(days=1)
    s = settings.model_copy(update={"complaint_hold_rate": 0.2})
    held = pipeline.run_digest(engine, s, schedules(), "morning", now=later)
    assert held.status == "held" and "publisher digest resume morning" in held.note
    run = runner.invoke(app, ["digest", "run", "morning"])
    assert "held" in run.output

    ctx = WebContext(settings.model_copy(update={"api_keys": ["k-0123456789abcdef"]}),
                     clock=FixedClock(later), engine_=engine, schedules_=schedules())  # fmt: skip
    import asyncio

    async def api() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(ctx.settings, context=ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            resp = await c.get("/api/digests/morning/runs",
                               headers={"X-API-Key": "k-0123456789abcdef"})  # fmt: skip
            assert resp.status_code == 200, resp.text
            return dict(resp.json())

    data = asyncio.run(api())
    (first,) = data["runs"]
    assert first["complaints"] == 2 and first["complaint_rate"] == 0.2
    assert data["held"]["held_by"] == "inbound"

    resumed = runner.invoke(app, ["digest", "resume", "morning"])
    assert resumed.exit_code == 0 and "resumed morning" in resumed.output
    assert runner.invoke(app, ["digest", "resume", "morning"]).exit_code == 1
    # A later complaint about the run the operator has seen does not hold the digest again.
    _complain(tmp_path, rows[2].verp, rows[2].recipient, 2)
    again = pipeline.run_digest(engine, s, schedules(), "morning", now=later)
    assert again.status != "held"


def test_operator_hold_and_resume(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound_env(settings, tmp_path, monkeypatch)
    held = runner.invoke(app, ["digest", "hold", "weekly", "--reason", "editor on leave"])
    assert held.exit_code == 0 and "held weekly" in held.output
    assert "already held" in runner.invoke(app, ["digest", "hold", "weekly"]).output
    result = pipeline.run_digest(engine, settings, schedules(), "weekly", now=NOW)
    assert result.status == "held" and "editor on leave" in result.note
    assert runner.invoke(app, ["digest", "hold", "nope"]).exit_code == 2
    assert runner.invoke(app, ["digest", "resume", "weekly"]).exit_code == 0
