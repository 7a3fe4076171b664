"""The dashboard's numbers: daily counts (pre-aggregated), the outbox's waiting rows, sources.

Everything here reads small tables or index ranges; the per-day history comes from
``daily_counts``, which ``rollup`` keeps current (a daemon job, and the console when the
last rollup is older than the setting).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from publisher.store import consoleviews, dailycounts
from publisher.store import sources as store_sources
from publisher.store.sources import SourceState
from publisher.store.types import Engine

# Mailbox providers' line: above 0.3 % complaints (or bounces) a sender is in trouble.
RATE_LINE = 0.003
BOUNCE_REASONS = ("hard_bounce", "bounce")


def rollup(engine: Engine, *, now: datetime, tz: tzinfo) -> int:
    with engine.begin() as conn:
        return dailycounts.rollup(conn, now=now, tz=tz)


def last_rollup(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return dailycounts.last_rollup(conn)


@dataclass
class Day:
    day: str
    confirmed: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    complaints: int = 0
    messages: Counter[str] = field(default_factory=Counter)  # "kind:status" → n

    @property
    def sent(self) -> int:
        return sum(n for k, n in self.messages.items() if k.endswith(":sent"))

    def rate(self, n: int) -> float:
        return n / self.sent if self.sent else 0.0


@dataclass
class Dashboard:
    days: list[Day]
    waiting: dict[str, int]
    oldest_waiting: datetime | None
    sources: dict[str, SourceState]
    rolled_up_at: datetime | None

    @property
    def depth(self) -> int:
        return sum(self.waiting.values())


def _day(found: dict[str, dict[str, Counter[str]]], day: str) -> Day:
    subs = found.get("subscribers", {}).get(day, Counter())
    supp = found.get("suppressions", {}).get(day, Counter())
    return Day(
        day, confirmed=subs["confirmed"], unsubscribed=subs["unsubscribed"],
        bounced=sum(n for r, n in supp.items() if r in BOUNCE_REASONS),
        complaints=sum(n for r, n in supp.items() if "complain" in r),
        messages=found.get("messages", {}).get(day, Counter()),
    )  # fmt: skip


def gather(engine: Engine, *, now: datetime, tz: tzinfo, days: int = 30) -> Dashboard:
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    with engine.connect() as conn:
        found = dailycounts.series(conn, since=first)
        waiting, oldest = consoleviews.waiting(conn)
        states = store_sources.all_states(conn)
        rolled = dailycounts.last_rollup(conn)
    listed = [_day(found, (first + timedelta(days=i)).isoformat()) for i in range(days)]
    return Dashboard(listed, waiting, oldest, states, rolled)


def day_range(first: date, days: int) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(days)]
