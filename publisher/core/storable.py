"""What both stores can hold, for checks where outside input comes in.

SQLite takes anything; PostgreSQL refuses, with a DataError that would be a 500 or a crashed
command, a NUL character in any text (a column or a query parameter), an Integer past 32 bits
(int4, ids included) and a string longer than its String(N). Input is checked against these
where it enters (a request's URL, body or form, an imported file), never in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INT4_MAX = 2**31 - 1  # the largest value of an Integer column (and of every row id)


def has_nul(*texts: str | None) -> bool:
    """Whether any of ``texts`` holds a NUL (U+0000), which no PostgreSQL text can."""
    return any(t is not None and "\0" in t for t in texts)


def nul_key(record: Mapping[Any, Any]) -> Any | None:
    """The first key of a record (an imported row) whose text, or a list's item, holds a NUL."""
    for key, value in record.items():
        items = value if isinstance(value, list) else [value]
        if has_nul(*(v for v in items if isinstance(v, str))):
            return key
    return None


def row_id(text: str) -> int | None:
    """A row id typed as text ("42") → 42; None for anything no id column can hold."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= INT4_MAX else None
