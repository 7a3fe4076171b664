"""MIME bytes for a rendered email, built once per variant, personalised by substitution.

The per-recipient parts are ``%%NAME%%`` placeholders (see enqueue.py). Both parts are
``8bit`` UTF-8 with every line ≤ 998 bytes, a transfer encoding that leaves the placeholders
byte-for-byte intact, so personalising is a handful of ``bytes.replace`` calls.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime

from publisher.core.addresses import to_ascii
from publisher.core.errors import PublisherError
from publisher.messages.enqueue import MESSAGE_ID_PLACEHOLDER
from publisher.render.linebudget import MAX_LINE, VALUE_LINE_MAX, cost
from publisher.render.templates import RenderedEmail
from publisher.render.textwidth import wrap

TO = "%%TO%%"
UNSUBSCRIBE_URL = "%%UNSUBSCRIBE_URL%%"
UNSUBSCRIBE_MAILTO = "%%UNSUBSCRIBE_MAILTO%%"
PREFERENCES_URL = "%%PREFERENCES_URL%%"
CRLF = "\r\n"
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")


class ComposeError(PublisherError, ValueError):  # ValueError: callers and tests predate the tree
    pass


@dataclass(frozen=True, slots=True)
class Sender:
    name: str
    address: str
    reply_to: str = ""


@dataclass(frozen=True, slots=True)
class ListInfo:
    """The headers that make a message a list message (RFC 2919, RFC 2369, RFC 8058)."""

    name: str
    list_id: str  # e.g. morning.news.example.kr
    unsubscribe_url: str = UNSUBSCRIBE_URL
    unsubscribe_mailto: str = UNSUBSCRIBE_MAILTO


def encode_header(name: str, value: str) -> str:
    """``Name: value`` folded at 78 columns, RFC 2047 B-encoded when not ASCII."""
    if value.isascii() and len(name) + len(value) < 76 and "\n" not in value:
        return f"{name}: {value}"
    h = Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name)
    return f"{name}: " + h.encode(linesep="\r\n", maxlinelen=76)


def phrase(text: str) -> str:
    """A display name in wire form: atoms, a quoted string, or encoded-words."""
    if not text:
        return ""
    if not text.isascii():
        raw = text.encode("utf-8")
        if len(raw) <= 45:  # one encoded-word of ≤ 75 characters: skip email.header's cost
            return "=?utf-8?b?" + base64.b64encode(raw).decode("ascii") + "?="
        return Header(text, "utf-8").encode(linesep="\r\n", maxlinelen=76)
    if _ATEXT.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def address(name: str, email: str) -> str:
    """``name <addr>`` in wire form; the domain in punycode, never an encoded-word in the address.

    CPython 3.11's email package would write ``=?utf-8?b?…?=@example.kr`` for an IDN domain.
    Every line fits a placeholder's budget: a name that cannot be folded short enough (one
    long ASCII word) is left out rather than make a line too long.
    """
    addr = to_ascii(email)
    shown = phrase(name)
    if not shown or any(len(line) > 76 for line in shown.split(CRLF)):
        return addr
    last = shown.rsplit("\n", 1)[-1]
    # Fold before the address rather than exceed 78 columns (the header name takes ~6).
    return f"{shown}{CRLF} <{addr}>" if len(last) + len(addr) > 66 else f"{shown} <{addr}>"


def fold_text(text: str, *, indent: str = "", cols: int = 72) -> str:
    """Plain text for a text/plain value: wrapped at ``cols`` columns after a first line that
    continues the template's (already indented) line, every line ≤ VALUE_LINE_MAX bytes, CRLF.
    """
    lines: list[str] = []
    for line in wrap(text, cols, indent, first="").split("\n"):
        while len(line.encode("utf-8")) > VALUE_LINE_MAX:  # zero-width runs: cut by bytes
            cut = len(line.encode("utf-8")[:VALUE_LINE_MAX].decode("utf-8", "ignore"))
            lines.append(line[:cut])
            line = indent + line[cut:]
        lines.append(line)
    return CRLF.join(lines)


def _lines(text: str, where: str) -> bytes:
    """CRLF bytes; every line fits in 998 bytes whatever its placeholders receive."""
    out = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"
    for line in out.split("\n"):
        if cost(line) > MAX_LINE:
            raise ComposeError(
                f"{where}: a line of {cost(line)} bytes (placeholders at {VALUE_LINE_MAX}) "
                f"exceeds {MAX_LINE}"
            )
    return out.replace("\n", "\r\n").encode("utf-8")


def _part(subtype: str, text: str) -> bytes:
    body = _lines(text, f"text/{subtype}")
    cte = "7bit" if body.isascii() else "8bit"
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    return head.encode("ascii") + b"\r\n" + body


def compose(
    *,
    rendered: RenderedEmail,
    sender: Sender,
    date: datetime,
    to: str = TO,
    list_info: ListInfo | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    """The whole message as CRLF bytes: multipart/alternative, text first, placeholders kept."""
    text = _part("plain", rendered.text)
    html = _part("html", rendered.html)
    boundary = "=_pub_" + hashlib.sha256(text + html).hexdigest()[:24]
    headers = [
        f"From: {address(sender.name, sender.address)}",
        f"To: {to}",
        encode_header("Subject", rendered.subject),
        f"Date: {format_datetime(date)}",
        f"Message-ID: {MESSAGE_ID_PLACEHOLDER}",
        "MIME-Version: 1.0",
    ]
    if sender.reply_to:
        headers.append(f"Reply-To: {to_ascii(sender.reply_to)}")
    if list_info is not None:
        shown = phrase(list_info.name)
        headers += [
            f"List-Id: {shown} <{list_info.list_id}>".replace("List-Id:  ", "List-Id: "),
            f"List-Unsubscribe: <{list_info.unsubscribe_url}>,"
            + f"{CRLF} <mailto:{list_info.unsubscribe_mailto}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
    for name, value in (extra_headers or {}).items():
        headers.append(encode_header(name, value))
    headers.append(f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"')
    head = "\r\n".join(headers).encode("utf-8") + b"\r\n\r\n"
    if any(cost(line) > MAX_LINE for line in head.decode("utf-8").split("\r\n")):
        raise ComposeError("a header line would exceed 998 bytes")
    if not head.isascii():
        raise ComposeError("a header is not ASCII after encoding")
    sep = f"--{boundary}\r\n".encode("ascii")
    end = f"--{boundary}--\r\n".encode("ascii")
    # The CRLF before a boundary belongs to the delimiter, so each body gets one more.
    return head + sep + text + b"\r\n" + sep + html + b"\r\n" + end
