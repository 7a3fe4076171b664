from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.analytics.clickkit import ClickWeb, open_clicks
from tests.webkit import web_settings


@pytest_asyncio.fixture
async def cw(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[ClickWeb]:
    async for w in open_clicks(web_settings(settings), engine, clock):
        yield w
