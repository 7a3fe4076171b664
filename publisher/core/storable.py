"""What both stores can hold, for checks where outside input comes in.

SQLite takes anything; PostgreSQL refuses, with a DataError that would be a 500 or a crashed
command, a NUL character in any text (a column or a query parameter), an Integer past 32 bits
(int4, ids included) and a string longer than its String(N). Neither store can take a text
that is not Unicode: a lone surrogate (JSON's "\\ud800", which json.loads and some form
decoders let through) has no UTF-8 form, and the driver's encode fails with UnicodeEncodeError.
Input is checked against these where it enters (a request's URL, body or form, an imported
file), never in the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

INT4_MAX = 2**31 - 1  # the largest value of an Integer column (and of every row id)

# A NUL, or any surrogate code point: a str holding one cannot be encoded as UTF-8 (json.loads
# joins a valid pair into one character, so what is left here is always a lone half).
_UNSTORABLE = re.compile("[\0\ud800-\udfff]")


def unstorable(*texts: str | None) -> str | None:
    """Why the first of ``texts`` that either store cannot hold is refused ("holds a NUL character",
    "holds a lone surrogate …"), for an error message; None when every one can be stored."""
    for text in texts:
        found = _UNSTORABLE.search(text) if text is not None else None
        if found is not None:
            char = found.group()
            if char == "\0":
                return "holds a NUL character"
            return f"holds a lone surrogate (U+{ord(char):04X}): not Unicode text"
    return None


def stripped(text: str) -> str:
    """``text`` without what no store can hold (for free text we keep, such as a detail)."""
    return _UNSTORABLE.sub("", text)


def unstorable_key(record: Mapping[Any, Any]) -> tuple[str, str] | None:
    """The first field of a record (an imported row) whose text, or a list's item, either store
    cannot hold, with the reason (see unstorable). A key that is itself unstorable is named
    "(key)": echoed in an error, it would fail the answer's or the terminal's encoding too."""
    for key, value in record.items():
        name = str(key)
        if (reason := unstorable(name)) is not None:
            return "(key)", reason
        items = value if isinstance(value, list) else [value]
        reason = unstorable(*(v for v in items if isinstance(v, str)))
        if reason is not None:
            return name, reason
    return None


def row_id(text: str) -> int | None:
    """A row id typed as text ("42") → 42; None for anything no id column can hold."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= INT4_MAX else None
