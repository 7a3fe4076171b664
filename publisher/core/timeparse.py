"""Durations ("24h", "7d") and RFC 3339 timestamps, strict on purpose."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from publisher.core.errors import ParseError

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# RFC 3339 date-time; the offset is optional here (a naive value is read in the site timezone).
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?$"
)
MIN_YEAR = 1900
MAX_YEAR = 2100


_LONGEST = 100 * 366 * 86400  # a longer one is a typo (and past timedelta's range, a crash)


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "30m", "24h", "7d" or "2w"."""
    m = _DURATION.match(text)
    if not m:
        raise ParseError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d)")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ParseError(f"duration must be positive: {text!r}")
    if seconds > _LONGEST:
        raise ParseError(f"duration too long: {text!r} (at most 100 years)")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_rfc3339(text: str, default_tz: tzinfo) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    A value without an offset is read in ``default_tz``. Years outside
    [1900, 2100] are refused: they are typos or sentinel values, not news.
    """
    m = _RFC3339.match(text.strip())
    if not m:
        raise ParseError(f"not an RFC 3339 timestamp: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ParseError(f"year {year} is out of range {MIN_YEAR}-{MAX_YEAR}")
    frac = m.group(7)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    try:
        naive = datetime(year, month, day, hour, minute, min(second, 59), micro)
    except ValueError as exc:
        raise ParseError(f"invalid date: {exc}") from None
    if m.group(8):
        return naive.replace(tzinfo=UTC)
    if m.group(9):
        sign = 1 if m.group(9) == "+" else -1
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        return (naive - sign * offset).replace(tzinfo=UTC)
    return naive.replace(tzinfo=default_tz).astimezone(UTC)


def hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
