"""One inbound message: read within a size bound, parsed leniently, headers decoded safely.

Hostile input is the normal case here: a 50 MB message is never read whole (``read_bounded``
stops one byte past the limit), broken MIME and missing headers parse to something, and a
header in a charset Python does not know decodes to its raw text instead of raising.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from typing import BinaryIO

_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Raw:
    """The bytes of a message, or only its size when it was over the limit (not read)."""

    data: bytes
    too_big: bool = False
    size: int = 0


def read_bounded(stream: BinaryIO, limit: int) -> Raw:
    """Read at most ``limit`` + 1 bytes: a bigger message is reported, never held."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        return Raw(b"", too_big=True, size=size)
    return Raw(b"".join(parts), size=size)


def parse(data: bytes) -> Message:
    """The compat32 parser: lenient with broken MIME, and the fastest of the email package."""
    return email.message_from_bytes(data)


def text(value: object) -> str:
    """A header value as text: encoded words decoded, unknown charsets left as they were."""
    if value is None:
        return ""
    raw = str(value)
    if "=?" not in raw:
        return " ".join(raw.split())
    try:
        return " ".join(str(email.header.make_header(email.header.decode_header(raw))).split())
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return " ".join(raw.split())


# An addr-spec inside a header value: enough to find our own addresses (VERP) and the ones a
# report names, at a tenth of the cost of email.utils.getaddresses on every header.
_ADDR = re.compile(r"[^\s<>,;:\"()\[\]\\]+@[^\s<>,;:\"()\[\]\\]+")


def addresses(msg: Message, *names: str) -> list[str]:
    """The addr-specs in these headers, lower-cased, in order (bad ones skipped)."""
    found: list[str] = []
    for name in names:
        for value in msg.get_all(name) or ():
            for addr in _ADDR.findall(str(value)):
                addr = addr.lower().strip(".")
                if addr not in found and len(addr) <= 320:
                    found.append(addr)
    return found


def message_id(msg: Message) -> str | None:
    value = str(msg.get("Message-ID") or "").strip()
    if not value:
        return None
    start, end = value.find("<"), value.find(">")
    return value[start : end + 1] if 0 <= start < end else value[:200]


def key_of(msg: Message | None, data: bytes) -> str:
    """The idempotency key: the Message-ID with the sender and date (a copy of the same
    message via another path carries other trace headers), else a hash of the bytes."""
    mid = message_id(msg) if msg is not None else None
    if msg is not None and mid:
        seed = f"mid\0{mid}\0{msg.get('From', '')}\0{msg.get('Date', '')}"
        return hashlib.sha256(seed.encode("utf-8", "replace")).hexdigest()
    return hashlib.sha256(data).hexdigest()


def first_text(msg: Message, limit: int = 64 * 1024) -> str:
    """The first text/plain part (or the body of a single-part message), at most ``limit``
    characters, decoded leniently (a broken transfer encoding or charset gives what it can)."""
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() not in ("text/plain", "text/html"):
            continue
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, TypeError, AssertionError):
            return ""
        if not isinstance(payload, bytes):
            return ""
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload[: limit * 4].decode(charset, "replace")[:limit]
        except LookupError:
            return payload[: limit * 4].decode("latin-1")[:limit]
    return ""
