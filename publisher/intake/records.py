"""Stream records out of JSON Lines, a JSON array or CSV, one (line, object-or-error) at a time.

Readers never stop at a bad record: each one becomes a Record with its line number and a
reason, and reading goes on. Only a problem with the file as a whole (an unknown format, a
CSV header without a required column) raises FileError, before anything is yielded.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from publisher.core.errors import PublisherError

Format = Literal["jsonl", "json", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "json", "csv")
_EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
}  # fmt: skip
_BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20
# A JSON array element bigger than this is not an article; stop instead of buffering forever.
MAX_RECORD_CHARS = 16 << 20
# surrogateescape turns each undecodable byte into one of these.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class FileError(PublisherError):
    """The file as a whole cannot be read; nothing from it was imported."""


@dataclass(frozen=True, slots=True)
class Record:
    """One record: the object read from ``line``, or why it could not be read."""

    line: int
    value: dict[str, Any] | None = None
    error: str | None = None


class NotUtf8(PublisherError, ValueError):  # ValueError: callers and tests predate the tree
    """A file is not UTF-8 text; it names the first bad byte so the user can find it."""

    def __init__(self, line: int, offset: int, byte: int) -> None:
        self.line = line
        self.detail = f"not UTF-8 text (byte 0x{byte:02x} at offset {offset})"
        super().__init__(f"line {line}: {self.detail}")


def check_utf8(path: Path) -> None:
    """Raise NotUtf8 at the first byte that is not UTF-8 (OSError if unreadable)."""
    offset = 0
    with path.open("rb") as fh:
        # Line by line keeps memory flat; a UTF-8 sequence never contains a newline byte.
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NotUtf8(number, offset + exc.start, raw[exc.start]) from None
            offset += len(raw)


def detect_format(path: Path, explicit: str | None = None) -> Format:
    if explicit is not None:
        if explicit not in FORMATS:
            raise FileError(f"--format must be one of {', '.join(FORMATS)}, not {explicit!r}")
        return explicit
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise FileError(f"cannot tell the format of {path.name}; use --format jsonl|json|csv")
    return fmt


@dataclass(frozen=True, slots=True)
class RawLine:
    """A JSON Lines record not decoded yet: big imports decode it in a validation worker."""

    line: int
    raw: bytes

    def record(self) -> Record:
        return parse_jsonl_line(self.line, self.raw)


Item = Record | RawLine


def read_records(fh: BinaryIO, fmt: Format, *, required: Sequence[str] = ()) -> Iterator[Record]:
    """Records from an open binary file; ``required`` columns are checked for CSV up front."""
    if fmt == "jsonl":
        return read_jsonl(fh)
    if fmt == "json":
        return read_json_array(fh)
    return read_csv(fh, required=required)


def read_items(fh: BinaryIO, fmt: Format, *, required: Sequence[str] = ()) -> Iterator[Item]:
    """Like read_records, but JSON Lines come as RawLine, left for the validator to decode."""
    if fmt == "jsonl":
        return jsonl_lines(fh)
    return read_records(fh, fmt, required=required)


def _kind(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _not_object(line: int, value: object) -> Record:
    return Record(line, error=f"expected a JSON object, got {_kind(value)}")


def jsonl_lines(fh: BinaryIO) -> Iterator[RawLine]:
    """The non-blank lines of a JSON Lines file, a byte-order mark taken off the first."""
    for number, raw in enumerate(fh, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.strip():
            yield RawLine(number, raw)


def parse_jsonl_line(number: int, raw: bytes) -> Record:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        return Record(number, error=f"not valid UTF-8 (byte 0x{byte:02x} at offset {exc.start})")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if not raw.endswith(b"\n"):
            return Record(number, error="truncated last line: the file ends inside a record")
        return Record(number, error=f"not valid JSON: {exc.msg} (column {exc.colno})")
    return Record(number, value) if isinstance(value, dict) else _not_object(number, value)


def read_jsonl(fh: BinaryIO) -> Iterator[Record]:
    return (line.record() for line in jsonl_lines(fh))


class _ArrayBuffer:
    """Decoded text of a JSON array file, read in chunks, with line numbers for positions."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self.text = ""
        self.pos = 0
        self.eof = False
        self._line = 1  # line number at self._counted
        self._counted = 0

    def fill(self) -> bool:
        """Read one more chunk; False at end of file."""
        if self.eof:
            return False
        self.line_at(self.pos)
        data = self.fh.read(_CHUNK)
        self.text = self.text[self.pos :] + self.decoder.decode(data, final=not data)
        self._counted -= self.pos
        self.pos = 0
        self.eof = not data
        if self.text.startswith("\ufeff"):
            self.text = self.text[1:]
        return True

    def skip_space(self) -> str:
        """The next non-space character ("" at end of file), not consumed."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def line_at(self, pos: int) -> int:
        self._line += self.text.count("\n", self._counted, pos)
        self._counted = pos
        return self._line


def read_json_array(fh: BinaryIO) -> Iterator[Record]:
    buf = _ArrayBuffer(fh)
    decoder = json.JSONDecoder()
    if buf.skip_space() != "[":
        raise FileError("a JSON file must hold one array of objects: it must start with '['")
    buf.pos += 1
    first = True
    while True:
        ch = buf.skip_space()
        line = buf.line_at(buf.pos)
        if ch == "":
            yield Record(line, error="truncated: the file ends before the closing ']'")
            return
        if ch == "]":
            yield from _after_array(buf)
            return
        if not first:
            if ch != ",":
                yield Record(line, error=f"not valid JSON: expected ',' or ']', found {ch!r}")
                return
            buf.pos += 1
            buf.skip_space()
            line = buf.line_at(buf.pos)
        first = False
        while True:
            try:
                value, end = decoder.raw_decode(buf.text, buf.pos)
            except json.JSONDecodeError as exc:
                if len(buf.text) - buf.pos < MAX_RECORD_CHARS and buf.fill():
                    continue
                truncated = buf.eof and (exc.pos >= len(buf.text) - 1 or "Unterminated" in exc.msg)
                reason = "the file ends inside this record" if truncated else exc.msg
                yield Record(line, error=f"not valid JSON: {reason}; nothing after it was read")
                return
            if end == len(buf.text) and buf.fill():
                continue  # a number may go on in the next chunk
            break
        broken = _UNDECODABLE.search(buf.text, buf.pos, end)
        buf.pos = end
        if broken:
            yield Record(line, error="not valid UTF-8 inside this record")
        elif isinstance(value, dict):
            yield Record(line, value)
        else:
            yield _not_object(line, value)


def _after_array(buf: _ArrayBuffer) -> Iterator[Record]:
    """Past the closing ']' only whitespace may follow; anything else is reported, not dropped."""
    buf.pos += 1
    if buf.skip_space():
        yield Record(buf.line_at(buf.pos), error="not valid JSON: content after the closing ']'")


def read_csv(fh: BinaryIO, *, required: Sequence[str] = ()) -> Iterator[Record]:
    # A body of a few MB is a valid cell here; validate.py decides whether it is too big.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_CHARS))
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileError("the CSV file is empty; it needs a header line") from None
    except csv.Error as exc:
        raise FileError(f"line 1: the CSV header is not valid: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise FileError(
            f"line 1: the CSV header lacks required column(s): {', '.join(missing)}; "
            "nothing was imported"
        )
    return _csv_rows(reader, header)


def _csv_rows(reader: Any, header: list[str]) -> Iterator[Record]:
    last = reader.line_num
    while True:
        try:
            row: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record(last + 1, error=f"not valid CSV: {exc}")
            last = reader.line_num
            continue
        start, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if any(_UNDECODABLE.search(cell) for cell in row):
            yield Record(start, error="not valid UTF-8 in this row")
        elif len(row) != len(header):
            yield Record(start, error=f"has {len(row)} fields; the header has {len(header)}")
        else:
            yield Record(start, {h: c for h, c in zip(header, row, strict=True) if c != ""})


def is_blank(path: Path) -> bool:
    """Whether the file holds nothing but white space (after a byte-order mark): not even a
    header line. Read in chunks: a huge file of blanks costs no memory."""
    with path.open("rb") as fh:
        chunk = fh.read(64 * 1024).removeprefix(_BOM)
        while chunk:
            if chunk.strip():
                return False
            chunk = fh.read(64 * 1024)
    return True
