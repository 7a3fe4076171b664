"""What every export reader shares: the record, the error, CSV rows, dates and booleans."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from publisher.core.addresses import AddressError, normalise
from publisher.core.errors import PublisherError
from publisher.core.storable import unstorable_key

# What an exported row becomes here:
# confirmed   the tool recorded a confirmation (double opt-in): a confirmed subscriber
# pending     subscribed without a recorded confirmation: pending, mailed only once it confirms
# unsubscribed the reader left: an "unsubscribed" suppression (and status, if known here)
# bounced     the tool stopped mailing after bounces (Mailchimp "cleaned"): hard_bounce
# blocked     an operator blocked the address (listmonk "blocklisted"): suppression
Fate = Literal["confirmed", "pending", "unsubscribed", "bounced", "blocked"]
FATES: tuple[Fate, ...] = ("confirmed", "pending", "unsubscribed", "bounced", "blocked")
MAX_FIELD = 64 * 1024  # a longer CSV field is a hostile or broken file, not an export


class FormatError(PublisherError):
    """A row of an export that cannot be read as the tool writes it: names file line and field."""

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(f"line {line}: {field}: {reason}")
        self.line, self.field, self.reason = line, field, reason


@dataclass(frozen=True, slots=True)
class Incoming:
    line: int
    email: str  # normalised
    name: str
    fate: Fate
    source_status: str  # the tool's own word, kept in the consent log
    subscribed_at: datetime | None = None
    confirmed_at: datetime | None = None
    left_at: datetime | None = None  # unsubscribed / cleaned / blocklisted, when the tool says


def rows(fh: TextIO, *, needs: Sequence[str], tool: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a CSV export with a header row naming at least ``needs``."""
    # The limit is process-wide: set for this file only, and put back after it.
    before = csv.field_size_limit(MAX_FIELD)
    reader = csv.DictReader(fh)
    try:
        header = reader.fieldnames
        missing = [n for n in needs if header is None or n not in header]
        if missing:
            raise FormatError(1, missing[0], f"not a {tool} export: the header has no such column")
        for rec in reader:
            if None in rec:
                raise FormatError(reader.line_num, "(row)", "more fields than the header names")
            _storable_row(reader.line_num, rec)
            yield reader.line_num, {k: (v or "").strip() for k, v in rec.items() if k is not None}
    except csv.Error as exc:
        raise FormatError(reader.line_num or 1, "(row)", f"not CSV: {exc}") from None
    finally:
        csv.field_size_limit(before)


def _storable_row(line: int, rec: Mapping[Any, Any]) -> None:
    """A cell holding a NUL or a lone surrogate (a broken export) ends the import here: the
    store refuses it in a lookup, a name or the consent log, mid-transaction (PostgreSQL a
    NUL, both a surrogate; SQLite takes a NUL)."""
    bad = unstorable_key(rec)
    if bad is not None:
        raise FormatError(line, *bad)


def address(line: int, field: str, value: str) -> str:
    if not value:
        raise FormatError(line, field, "missing")
    try:
        return normalise(value)
    except AddressError as exc:
        raise FormatError(line, field, str(exc)) from None


def name(line: int, field: str, *parts: str) -> str:
    text = " ".join(p for p in parts if p).strip()
    if len(text) > 200 or any(c in text for c in "\r\n"):
        raise FormatError(line, field, "at most 200 characters on one line")
    return text


def when(line: int, field: str, value: str) -> datetime | None:
    """A tool's timestamp: ISO 8601 / RFC 3339 ("2022-04-06T07:42:08.000Z", "2019-03-21
    14:33:07", "2020-01-01 00:00:00.000000+09:00"); a naive one is UTC, as the tools write."""
    if not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FormatError(line, field, f"not a date and time: {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def flag(line: int, field: str, value: str) -> bool:
    low = value.lower()
    if low in ("true", "1", "yes", "t"):
        return True
    if low in ("false", "0", "no", "f", ""):
        return False
    raise FormatError(line, field, f"must be true or false, got {value[:20]!r}")
