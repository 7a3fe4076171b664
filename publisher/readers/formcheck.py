"""What a reader may type into a form: one address, a short name, a plain note. No HTTP here."""

from __future__ import annotations

import re
import unicodedata

from publisher.core.addresses import AddressError, normalise

NAME_MAX = 50
NOTE_MAX = 300
EMAIL_MAX = 254

# What a name or a short personal note may contain, decided by allow-list after NFKC (which
# folds full-width "ｅｖｉｌ．ｃｏｍ" to "evil.com"). A name: letters, combining marks, digits,
# spaces and NAME_PUNCTUATION. A note: the same with line breaks, NOTE_PUNCTUATION, and
# non-ASCII symbols (emoji, arrows, ₩). Never "@", "\\", "|", "`", "$" or "{}".
NAME_PUNCTUATION = frozenset(".,-'’&()·")
NOTE_PUNCTUATION = frozenset(".,!?'\"()[]-–—:;/&%+~*#=<>…·‘’“”「」『』《》〈〉【】〔〕^_")
_NOTE_SYMBOLS = ("So", "Sm", "Sc", "Sk")  # outside ASCII only
_MARKS_IN_A_ROW = 3  # accents stack, but "Zalgo" text is not a note
# Characters a browser or a resolver reads as a dot in a host name (UTS 46): "。" and "｡"
# after NFKC.
_DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})
# URL-like shapes, checked on the NFKC text with the dots above folded in. A sentence's full
# stop is followed by a space and not preceded by one, so "Thanks. See you" passes while
# "evil.pw", "evil . com" and "evil .com" do not. A dot between a word and two or more letters
# is a domain ("evil.pw", "뉴스.한국"); one letter after it is not ("e.g", "U.S.").
_URL_SHAPES = re.compile(
    r"[^\W_]\.[^\W\d_]{2}"  # evil.pw, www.evil, 한빛.한국
    r"|[^\W_]\s+\.\s*[^\W_]"  # evil . com, evil .com
    r"|\b[a-z][a-z0-9+.-]*:(?=[^\s\d])"  # javascript:x, http://, mailto:x (not "Note: x")
    r"|\b(?:javascript|vbscript|data|https?|ftp|file|mailto|tel|sms)\s*:"  # even with spaces
    r"|\d{1,3}(?:\s*\.\s*\d{1,3}){3}"  # IPv4 (1.2.3.4, 1 . 2 . 3 . 4)
    r"|\[[0-9a-f:.]*:[0-9a-f:.]*\]"  # [IPv6]
    r"|</?[a-z!?]",  # markup (a tag starts right after "<": "x < y" is arithmetic)
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


def _allowed(text: str, punctuation: frozenset[str], *, note: bool) -> bool:
    marks = 0
    for ch in text:
        if ch == " " or (note and ch == "\n") or ch in punctuation:
            marks = 0
            continue
        category = unicodedata.category(ch)
        symbol = note and ch > "\x7f" and category in _NOTE_SYMBOLS
        if category[0] not in "LMN" and not symbol:
            return False
        marks = marks + 1 if category.startswith("M") else 0
        if marks > _MARKS_IN_A_ROW:
            return False
    return True


def url_like(text: str) -> bool:
    """A link, an address a reader could type or a linkifier would make clickable, or markup."""
    return _URL_SHAPES.search(text.translate(_DOTS)) is not None


def person_name(raw: str, *, required: bool, field: str = "name") -> str:
    """One line of ≤ 50 characters: letters, digits, spaces and a little punctuation (NFKC)."""
    if _has_control(raw.strip()) or _ENCODED_BREAK.search(raw):
        raise InputError(field, "err_name", "must be one line")
    text = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not text:
        if required:
            raise InputError(field, "err_name", "missing")
        return ""
    if len(text) > NAME_MAX:
        raise InputError(field, "err_name", f"longer than {NAME_MAX} characters")
    if not _allowed(text, NAME_PUNCTUATION, note=False) or url_like(text):
        raise InputError(field, "err_name", "no links, addresses or markup")
    return text


def plain_note(raw: str, field: str = "note") -> str:
    """≤ 300 characters of plain text (NFKC); line breaks kept, links and markup refused."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _has_control(text, allow_newlines=True):
        raise InputError(field, "err_note", "control characters")
    text = unicodedata.normalize("NFKC", text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    # At most two blank lines in a row: a note is not a layout tool.
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(text) > NOTE_MAX:
        raise InputError(field, "err_note", f"longer than {NOTE_MAX} characters")
    if not _allowed(text, NOTE_PUNCTUATION, note=True) or url_like(text):
        raise InputError(field, "err_note", "no links or markup")
    return text
