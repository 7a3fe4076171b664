"""What a reader may type into a form: one address, a short name, a plain note. No HTTP here."""

from __future__ import annotations

import re
import unicodedata

from publisher.addresses import AddressError, normalise

NAME_MAX = 50
NOTE_MAX = 300
EMAIL_MAX = 254
# Schemes, www., bare domains with a common TLD, and HTML links: a note is for words only.
_URLISH = re.compile(
    r"[a-z][a-z0-9+.-]*:(//|[^\s]*@)|\bwww\.|\bhref\b|<\s*/?\s*[a-z!]"
    r"|\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|net|org|kr|io|co|info|biz|xyz|top|me|ly|gl|to|app"
    r"|site|online|ru|cn|de|uk|jp|us|link|click|shop)\b",
    re.IGNORECASE,
)
# Percent-encoded line breaks typed literally: a header injection attempt, never a name.
_ENCODED_BREAK = re.compile(r"%0[ad]|\\[rn]", re.IGNORECASE)


class InputError(ValueError):
    """A form field that cannot be accepted; ``field`` names it, ``key`` picks the message."""

    def __init__(self, field: str, key: str, detail: str = "") -> None:
        super().__init__(f"{field}: {detail or key}")
        self.field = field
        self.key = key


def _has_control(text: str, allow_newlines: bool = False) -> bool:
    for ch in text:
        if allow_newlines and ch == "\n":
            continue
        if ch in "\r\n\u2028\u2029\x85" or unicodedata.category(ch) in ("Cc", "Cf"):
            return True
    return False


def single_address(raw: str, field: str = "email") -> str:
    """Exactly one addr-spec, normalised; lists, display names and line breaks are refused."""
    text = raw.strip()
    if not text or len(text) > EMAIL_MAX or _ENCODED_BREAK.search(text):
        raise InputError(field, "err_email", "not a single address")
    if _has_control(text) or any(c.isspace() for c in text) or text.count("@") != 1:
        raise InputError(field, "err_email", "not a single address")
    try:
        return normalise(text)
    except AddressError as exc:
        raise InputError(field, "err_email", str(exc)) from None


def person_name(raw: str, *, required: bool, field: str = "name") -> str:
    """One line of ≤ 50 characters without links, tags or an address in it."""
    text = raw.strip()
    if not text:
        if required:
            raise InputError(field, "err_name", "missing")
        return ""
    if len(text) > NAME_MAX:
        raise InputError(field, "err_name", f"longer than {NAME_MAX} characters")
    if _has_control(text) or _ENCODED_BREAK.search(text):
        raise InputError(field, "err_name", "must be one line")
    if _URLISH.search(text) or any(c in text for c in '<>@"\\'):
        raise InputError(field, "err_name", "no links, addresses or markup")
    return " ".join(text.split())


def plain_note(raw: str, field: str = "note") -> str:
    """≤ 300 characters of plain text; line breaks kept, links and markup refused."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > NOTE_MAX:
        raise InputError(field, "err_note", f"longer than {NOTE_MAX} characters")
    if _has_control(text, allow_newlines=True):
        raise InputError(field, "err_note", "control characters")
    if _URLISH.search(text):
        raise InputError(field, "err_note", "no links or markup")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    # At most two blank lines in a row: a note is not a layout tool.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
