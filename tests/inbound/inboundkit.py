"""A digest run that was sent: outbox rows with their VERP senders and unsubscribe tokens,
and the PUBLISHER_* environment the inbound CLI runs against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from publisher.core import messageids, verp
from publisher.core.config import Settings
from publisher.digests import pipeline
from publisher.store.schema import outbox, subscribers, suppressions
from tests.digestkit import NOW, SCHEDULES, add_subscriber, load_store, schedules

SECRET = "test-secret-key-0123456789"
BOUNCES = "bounces@news.example.kr"


@dataclass(frozen=True)
class SentRow:
    id: int
    recipient: str
    verp: str
    message_id: str
    unsubscribe_token: str


def sent_digest(engine: Engine, settings: Settings, n: int) -> list[SentRow]:
    """``n`` confirmed readers, one morning run for them, every row marked sent."""
    load_store(engine)
    for i in range(n):
        add_subscriber(engine, f"reader{i:02d}@example.kr")
    result = pipeline.run_digest(engine, settings, schedules(), "morning", now=NOW)
    assert result.enqueued == n
    with engine.begin() as conn:
        conn.execute(update(outbox).values(status="sent", sent_at=NOW))
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    out = []
    for r in rows:
        subs = json.loads(r.substitutions) if isinstance(r.substitutions, str) else r.substitutions
        url = next(v for k, v in subs.items() if "UNSUBSCRIBE_URL" in k)
        mid = messageids.sent(r.message_id, r.id)  # as the reader's copy carried it
        out.append(SentRow(r.id, r.recipient, verp.address(BOUNCES, SECRET, r.id), mid,
                           url.rstrip("/").rpartition("/")[2]))  # fmt: skip
    return out


def status_of(engine: Engine, email: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(subscribers.c.status).where(subscribers.c.email == email)).scalar()
        )


def suppressed(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        q = select(suppressions.c.email, suppressions.c.reason)
        return {e: r for e, r in conn.execute(q)}


def inbound_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                **extra: str) -> None:  # fmt: skip
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    values = {
        "DATABASE_URL": settings.database_url, "TEMPLATES_DIR": str(settings.templates_dir),
        "SCHEDULES_FILE": str(tmp_path / "schedules.yaml"), "SECRET_KEY": SECRET,
        "FROM_ADDRESS": "news@news.example.kr", "BOUNCE_ADDRESS": BOUNCES,
        "PUBLIC_BASE_URL": "https://news.example.kr/newsletter",
        "INBOUND_UNMATCHED_DIR": str(tmp_path / "unmatched"),
    }  # fmt: skip
    for k, v in {**values, **extra}.items():
        monkeypatch.setenv(f"PUBLISHER_{k}", v)
