from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.console.consolekit import Console, open_console


@pytest_asyncio.fixture
async def console(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Console]:
    async for c in open_console(settings, engine, clock):
        yield c
