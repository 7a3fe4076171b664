"""Deferrals in the log, grouped by reason and rate-limited: one line per reason per window.

Mail piling up must show in the log, not only in `outbox status`, without one line per
message: the first deferral for a reason is logged at once, then the count of further ones
once per ``window``. Addresses are cut out of the reason (a relay often quotes the recipient),
so a line names no reader and deferrals for different readers share one line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.core.clock import Clock

_ADDRESS = re.compile(r"<[^<>\s]*>|[^\s<>@]+@[^\s<>]+")


def reason_of(reply: str) -> str:
    """The reply without addresses, as one short line: the grouping key."""
    return " ".join(_ADDRESS.sub("<…>", reply).split())[:200]


@dataclass
class _Group:
    count: int = 0
    logged_at: datetime | None = None


@dataclass
class DeferralLog:
    clock: Clock
    log: logging.Logger
    window: timedelta = timedelta(minutes=1)
    _groups: dict[str, _Group] = field(default_factory=dict)

    def note(self, reply: str) -> None:
        key = reason_of(reply)
        group = self._groups.setdefault(key, _Group())
        group.count += 1
        now = self.clock.now()
        if group.logged_at is None or now - group.logged_at >= self.window:
            self._emit(key, group, now)

    def flush(self) -> None:
        """Log what is counted and not yet logged (at the end of a run)."""
        now = self.clock.now()
        for key, group in self._groups.items():
            if group.count:
                self._emit(key, group, now)

    def _emit(self, key: str, group: _Group, now: datetime) -> None:
        if group.logged_at is None:
            self.log.warning("deferred 1 message: %s", key)
            group.count -= 1
        else:
            seconds = (now - group.logged_at).total_seconds()
            self.log.warning(
                "deferred %d message(s) in the last %.0f s: %s", group.count, seconds, key
            )
            group.count = 0
        group.logged_at = now
