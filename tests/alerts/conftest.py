from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.webkit import Web, open_web, web_settings


@pytest_asyncio.fixture
async def web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    async for w in open_web(web_settings(settings), engine, clock):
        yield w
