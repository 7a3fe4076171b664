"""Readers of other newsletter tools' subscriber exports, one module per tool.

Each turns its tool's own file, as the tool writes it, into ``Incoming`` records: the address,
the name, what the tool's status means here (``Fate``) and the tool's own dates. They stream
the file row by row and raise ``FormatError`` with the line number at the first row they
cannot read; they never write anything (``readers/moving.py`` does).
"""

from __future__ import annotations

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

__all__ = ["READERS", "FormatError", "Incoming", "Reader"]
