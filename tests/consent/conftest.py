from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import Engine

from publisher.core.clock import FixedClock
from publisher.core.config import Settings
from tests.webkit import Web, open_web, web_settings


@pytest_asyncio.fixture
async def web(settings: Settings, engine: Engine, clock: FixedClock) -> AsyncIterator[Web]:
    async for w in open_web(web_settings(settings, consent_text_version="2026-11"), engine, clock):
        yield w
