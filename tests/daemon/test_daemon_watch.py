"""A part of the daemon that ends on its own is never silent: the daemon stops with exit 1."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import Engine

from publisher.app import App
from publisher.core.config import Settings
from publisher.daemon.process import Daemon, Parts
from tests.pgserver import free_port


async def _empty_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            await send({"type": f"{kind}.complete"})
            if kind == "lifespan.shutdown":
                return


def test_a_web_server_that_ends_by_itself_stops_the_daemon_with_exit_1(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings.model_copy(update={"web_port": free_port(), "ops_port": 0})
    app = App(settings=s)

    async def scenario() -> int:
        daemon = Daemon(app, Parts(jobs=lambda _s: [], web_app=_empty_app), role="web")
        task = asyncio.create_task(daemon.run())
        while "web" not in daemon._servers or not daemon._servers["web"].started:
            await asyncio.sleep(0.01)  # polling for start-up, bounded by wait_for below
        daemon._servers["web"].should_exit = True  # as if uvicorn had stopped on its own
        return await asyncio.wait_for(task, 30)

    try:
        with caplog.at_level(logging.ERROR, logger="publisher.daemon.process"):
            code = asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        app.close()
    assert code == 1
    assert any("web ended unexpectedly" in r.getMessage() for r in caplog.records)
