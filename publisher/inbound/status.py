"""What the inbound side did, per source and per day (``publisher inbound status``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.store import inbound as store
from publisher.store.types import Engine

# unverified: a bounce or complaint that named one of our messages only by address or
# Message-ID (inbound/match.py): recorded and kept, with no effect.
COLUMNS = ("processed", "matched", "unverified", "hard_bounce", "soft_bounce", "complaint",
           "unsubscribe", "auto_reply", "unmatched")  # fmt: skip


@dataclass
class DayRow:
    source: str
    day: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))


def by_source_and_day(engine: Engine, *, now: datetime, days: int = 7) -> list[DayRow]:
    """Newest day first; within a day, by source."""
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        found = store.day_counts(conn, since=since)
    rows: dict[tuple[str, str], DayRow] = {}
    for c in found:
        row = rows.setdefault((c.day, c.source), DayRow(c.source, c.day))
        row.counts["processed"] += c.count
        row.counts["matched"] += c.count if c.matched == store.MATCHED else 0
        row.counts["unverified"] += c.count if c.matched == store.UNVERIFIED else 0
        if c.outcome in row.counts:
            row.counts[c.outcome] += c.count
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1]), reverse=False)][::-1]


def run_counts(engine: Engine, run_ids: list[int]) -> dict[int, dict[str, int]]:
    """Inbound outcomes per digest run (for history and the API)."""
    with engine.connect() as conn:
        return store.run_counts(conn, run_ids)
