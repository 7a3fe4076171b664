"""Readers of other newsletter tools' subscriber exports, one module per tool.

Each turns its tool's own file, as the tool writes it, into ``Incoming`` records: the address,
the name, what the tool's status means here (``Fate``) and the tool's own dates. They stream
the file row by row and raise ``FormatError`` with the line number at the first row they
cannot read; they never write anything (``readers/moving.py`` does).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import TextIO

from publisher.core.vocab import ImportSource
from publisher.readers.importformats import ghost, listmonk, mailchimp, substack
from publisher.readers.importformats.common import FormatError, Incoming

Reader = Callable[[TextIO], Iterator[Incoming]]

READERS: dict[ImportSource, Reader] = {
    "mailchimp": mailchimp.read,
    "listmonk": listmonk.read,
    "ghost": ghost.read,
    "substack": substack.read,
}

# Columns only that tool's export has: how a file given without --from is recognised.
_MARKS: tuple[tuple[ImportSource, frozenset[str]], ...] = (
    ("mailchimp", frozenset({"Email Address"})),
    ("listmonk", frozenset({"uuid", "attributes"})),
    ("ghost", frozenset({"subscribed_to_emails"})),
    ("substack", frozenset({"email_disabled"})),
)


def recognise(fh: TextIO) -> ImportSource | None:
    """The tool whose export this CSV looks like (by its header row), or None."""
    header = set(next(csv.reader([fh.readline()]), []))
    return next((tool for tool, marks in _MARKS if marks & header), None)


__all__ = ["READERS", "FormatError", "Incoming", "Reader", "recognise"]
