"""The 998-byte line limit, kept by construction for messages with per-recipient placeholders.

Stored content is personalised by splicing values into ``%%NAME%%`` placeholders, so the
length of a line is only known once its values are in. Two rules make it known in advance:

- every line of a substituted value is at most ``VALUE_LINE_MAX`` bytes (producers fold
  their values to fit: see ``htmllines.fold_html`` and ``compose.fold_text``), and
- every line of stored content costs at most ``MAX_LINE`` bytes when each placeholder in it
  is counted as ``VALUE_LINE_MAX`` bytes (``compose`` refuses content that does not).

A value with line breaks only ever puts its first line after the placeholder's prefix and its
last line before its suffix, so together the two rules bound every line of every message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from publisher.core.errors import PublisherError

MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
VALUE_LINE_MAX = 300  # bytes: an e-mail address (≤ 254) in <>, a link with a signed token
PLACEHOLDER = re.compile(r"%%[A-Z0-9_]+%%")


class Unfit(PublisherError, ValueError):  # ValueError: callers and tests predate the tree
    """A value, or the message it makes, that cannot be sent as it is."""


class LineTooLong(Unfit):
    """A line of a message, or of a value meant for one, is over its byte budget."""


class PlaceholderInValue(Unfit):
    """A value holding ``%%NAME%%``: splicing values one after another would expand it."""


def cost(line: str) -> int:
    """UTF-8 bytes of a line, each placeholder counted as the longest value it may receive."""
    size = len(line) if line.isascii() else len(line.encode("utf-8"))
    if "%%" not in line:
        return size
    for found in PLACEHOLDER.finditer(line):
        size += VALUE_LINE_MAX - len(found.group(0))
    return size


def longest_line(value: str) -> int:
    """Bytes of the longest line of a value (CRLF or LF separated)."""
    if value.isascii() and "\n" not in value:
        return len(value)
    return max(len(line.encode("utf-8")) for line in value.replace("\r\n", "\n").split("\n"))


def check_values(values: dict[str, str]) -> None:
    """Every value fits its placeholder's budget; LineTooLong names the first that does not."""
    for name, value in values.items():
        if len(value) <= VALUE_LINE_MAX and "\n" not in value and value.isascii():
            continue  # the common case (a link, an ASCII address): about 1 µs a recipient
        size = longest_line(value)
        if size > VALUE_LINE_MAX:
            raise LineTooLong(f"{name}: a line of {size} bytes exceeds {VALUE_LINE_MAX}")


def check_message(message: bytes) -> None:
    """The finished message: every line ≤ 998 bytes, or LineTooLong before it is queued."""
    for number, line in enumerate(message.split(b"\n"), start=1):
        size = len(line) - line.endswith(b"\r")
        if size > MAX_LINE:
            raise LineTooLong(f"line {number}: {size} bytes exceeds {MAX_LINE}")


def check_literal(values: Mapping[str, str]) -> None:
    """No value holds a placeholder, so every way of splicing values in gives the same bytes."""
    for name, value in values.items():
        if "%%" in value and PLACEHOLDER.search(value):
            raise PlaceholderInValue(f"{name}: the value holds a placeholder")


def fill_once(template: bytes, values: Mapping[str, str]) -> bytes:
    """Each placeholder replaced by its value in one pass; values are never searched again."""

    def value(found: re.Match[bytes]) -> bytes:
        name = found.group(0).decode("ascii")
        return values[name].encode("utf-8") if name in values else found.group(0)

    return _PLACEHOLDER_BYTES.sub(value, template)


_PLACEHOLDER_BYTES = re.compile(PLACEHOLDER.pattern.encode("ascii"))
