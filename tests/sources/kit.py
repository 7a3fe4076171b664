"""Helpers for source tests: settings with sources, article objects, file times."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from publisher.config import Settings, SourceConfig
from publisher.store import articles as store_articles
from publisher.store import sources as store_sources
from publisher.store.sources import SourceState
from tests.conftest import T0


def with_sources(settings: Settings, *sources: SourceConfig, **extra: Any) -> Settings:
    return settings.model_copy(update={"sources": list(sources), **extra})


def obj(n: int, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"cms-{n}",
        "url": f"https://news.example.kr/a/{n}",
        "title": f"기사 {n}",
        "published_at": (T0 - timedelta(hours=n)).isoformat(),
        "section": "politics",
    }
    base.update(kw)
    return base


def jsonl(*objs: dict[str, Any]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)


def touch(path: Path, at: datetime) -> None:
    os.utime(path, (at.timestamp(), at.timestamp()))


def state(engine: Engine, name: str) -> SourceState:
    with engine.connect() as conn:
        found = store_sources.get_state(conn, name)
    assert found is not None, f"no state for {name}"
    return found


def titles(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {a.external_id: a.title for a in store_articles.latest_articles(conn, limit=500)}
