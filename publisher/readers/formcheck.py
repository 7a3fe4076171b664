"""What a reader may type into a form: one address, a short name, a plain note. No HTTP here."""

from __future__ import annotations

import re
import unicodedata

from publisher.core import errors
from publisher.core.addresses import AddressError, normalise

NAME_MAX = 50
NOTE_MAX = 300
EMAIL_MAX = 254
# Lengths are counted as typed; NFKC may lengthen the text ("…" becomes "..."), so what is
# sent is capped in UTF-8 bytes: 4 bytes a character, what the typed limit allows without it.
# A name is spliced in as one line, so its cap keeps it inside the line budget (linebudget.py).
NAME_BYTES_MAX = 4 * NAME_MAX
NOTE_BYTES_MAX = 4 * NOTE_MAX

# What a name or a short personal note may contain, decided by allow-list after NFKC (which
# folds full-width "ｅｖｉｌ．ｃｏｍ" to "evil.com"). A name: letters, combining marks, digits,
# spaces and NAME_PUNCTUATION. A note: the same with line breaks, NOTE_PUNCTUATION, and
# non-ASCII symbols (emoji, arrows, ₩). Never "@", "\\", "|", "`", "$", "{}" or "%%".
NAME_PUNCTUATION = frozenset(".,-'’&()·")
NOTE_PUNCTUATION = frozenset(".,!?'\"()[]-–—:;/&%+~*#=<>…·‘’“”「」『』《》〈〉【】〔〕^_")
_NOTE_SYMBOLS = ("So", "Sm", "Sc", "Sk")  # outside ASCII only
_MARKS_IN_A_ROW = 3  # accents stack, but "Zalgo" text is not a note
# Scripts whose text needs no combining mark once in NFKC (Hangul syllables and jamo, kana
# with their voicing marks, ideographs): a mark after one of their letters is decoration or
# disguise. Named by the first word of the letter's Unicode name.
_NO_MARK_SCRIPTS = frozenset(
    ("HANGUL", "CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "BOPOMOFO", "YI",
     "HALFWIDTH", "FULLWIDTH")
)  # fmt: skip
# Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt): invisible, untouched by
# NFKC, and either dropped by a browser's IDNA (UTS 46: "evil\u034f.pw" opens evil.pw) or
# used to hide text. They are removed from names and notes before anything is checked.
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Except, in a note, the joiners of an emoji sequence: a zero-width joiner between two emoji
# ("👨‍👩‍👧"), a variation selector right after one ("❤️"), and the keycap "1️⃣".
_ZWJ = "\u200d"
_PRESENTATION = frozenset("\ufe0e\ufe0f")
_KEYCAP = "\u20e3"
_KEYCAP_BASES = frozenset("0123456789#*")
_SKIN_TONES = ("\U0001f3fb", "\U0001f3ff")
# Characters a browser or a resolver reads as a dot in a host name (UTS 46): "。" and "｡"
# after NFKC. A Braille blank looks like a space: "evil⠀.pw" reads as "evil .pw".
_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\u2800": " "})
# URL-like shapes, checked on the NFKC text with the dots above folded in and with every
# ignorable and combining mark taken out (see _skeleton). A sentence's full
# stop is followed by a space and not preceded by one, so "Thanks. See you" passes while
# "evil.pw", "evil . com" and "evil .com" do not. A dot between a word and two or more letters
# is a domain ("evil.pw", "뉴스.한국"); one letter after it is not ("e.g", "U.S.").
_URL_SHAPES = re.compile(
    r"(?:[^\W_]|[^\x00-\x7f\w\s])\.[^\W\d_]{2}"  # evil.pw, www.evil, 한빛.한국, i❤.ws
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


class InputError(errors.InputError):
    """A form field that cannot be accepted; ``field`` names it, ``key`` picks the message."""

    def __init__(self, field: str, key: str, detail: str = "") -> None:
        super().__init__(field, detail or key)
        self.key = key


def _has_control(text: str, allow_newlines: bool = False) -> bool:
    for ch in text:
        # A line break in a note; a zero-width joiner _visible kept inside an emoji sequence.
        if allow_newlines and ch in ("\n", _ZWJ):
            continue
        if ch in "\r\n\u2028\u2029\x85" or unicodedata.category(ch) in ("Cc", "Cf"):
            return True
    return False


def _emoji(ch: str) -> bool:
    return ch > "\x7f" and (
        unicodedata.category(ch) == "So" or _SKIN_TONES[0] <= ch <= _SKIN_TONES[1]
    )


def _joiner_kept(text: str, i: int, kept: list[str]) -> bool:
    """Whether the ignorable ``text[i]`` joins an emoji sequence (given what is kept so far)."""
    ch, before = text[i], kept[-1] if kept else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if ch in _PRESENTATION:
        return _emoji(before) or (before in _KEYCAP_BASES and after == _KEYCAP)
    if ch == _ZWJ:
        return (_emoji(before) or before in _PRESENTATION) and _emoji(after)
    return False


def _visible(text: str, *, emoji: bool) -> str:
    """The text without Default_Ignorable code points, except (``emoji``) emoji joiners."""
    if _IGNORABLE.search(text) is None:
        return text
    kept: list[str] = []
    for i, ch in enumerate(text):
        if _IGNORABLE.match(ch) is None or (emoji and _joiner_kept(text, i, kept)):
            kept.append(ch)
    return "".join(kept)


def single_address(raw: str, field: str = "email") -> str:
    """Exactly one addr-spec, normalised; lists, display names and line breaks are refused."""
    text = raw.strip()
    # "%%" would start a placeholder of the stored message (see plain_note).
    if not text or len(text) > EMAIL_MAX or _ENCODED_BREAK.search(text) or "%%" in text:
        raise InputError(field, "err_email", "not a single address")
    if _has_control(text) or any(c.isspace() for c in text) or text.count("@") != 1:
        raise InputError(field, "err_email", "not a single address")
    try:
        return normalise(text)
    except AddressError as exc:
        raise InputError(field, "err_email", str(exc)) from None


def _takes_marks(base: str) -> bool:
    """A letter a combining mark may sit on: never ASCII, punctuation, a digit or a symbol."""
    if base < "\x80" or not unicodedata.category(base).startswith("L"):
        return False
    return unicodedata.name(base, "").split(" ", 1)[0] not in _NO_MARK_SCRIPTS


def _allowed(text: str, punctuation: frozenset[str], *, note: bool) -> bool:
    marks = 0
    base = prev = ""  # the character a run of marks sits on; the character before this one
    for ch in text:
        if note and (ch == _ZWJ or ch in _PRESENTATION):  # kept only inside emoji (_visible)
            prev = ch
            continue
        if ch == " " or (note and ch == "\n") or ch in punctuation:
            marks, base, prev = 0, ch, ch
            continue
        category = unicodedata.category(ch)
        symbol = note and ch > "\x7f" and category in _NOTE_SYMBOLS
        keycap = note and ch == _KEYCAP and prev in _PRESENTATION and base in _KEYCAP_BASES
        if category[0] not in "LMN" and not symbol:
            return False
        if category[0] != "M":
            marks, base = 0, ch
        elif not keycap and (marks == _MARKS_IN_A_ROW or not (marks or _takes_marks(base))):
            return False
        else:
            marks += 1
        prev = ch
    return True


def _skeleton(text: str) -> str:
    """The text as a host name parser would read it: no ignorables, no marks, dots as dots."""
    if not text.isascii():
        text = _IGNORABLE.sub("", text)
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    return text.translate(_DOTS)


def url_like(text: str) -> bool:
    """A link, an address a reader could type or a linkifier would make clickable, or markup."""
    return _URL_SHAPES.search(_skeleton(text)) is not None


def _too_long(typed: str, sent: str, chars: int, size: int) -> bool:
    """Over ``chars`` characters as typed, or over ``size`` UTF-8 bytes once in NFKC."""
    return len(typed) > chars or len(sent.encode("utf-8")) > size


def person_name(raw: str, *, required: bool, field: str = "name") -> str:
    """One line of ≤ 50 characters: letters, digits, spaces and a little punctuation (NFKC)."""
    typed = _visible(raw, emoji=False)
    if _has_control(typed.strip()) or _ENCODED_BREAK.search(typed):
        raise InputError(field, "err_name", "must be one line")
    typed = " ".join(typed.split())
    text = " ".join(_visible(unicodedata.normalize("NFKC", typed), emoji=False).split())
    if not text:
        if required:
            raise InputError(field, "err_name", "missing")
        return ""
    if _too_long(typed, text, NAME_MAX, NAME_BYTES_MAX):
        raise InputError(field, "err_name", f"longer than {NAME_MAX} characters")
    if not _allowed(text, NAME_PUNCTUATION, note=False) or url_like(text):
        raise InputError(field, "err_name", "no links, addresses or markup")
    return text


def _tidy(text: str) -> str:
    """Spaces collapsed on each line, at most two blank lines in a row: not a layout tool."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def plain_note(raw: str, field: str = "note") -> str:
    """≤ 300 characters of plain text (NFKC); line breaks kept, links and markup refused."""
    typed = _visible(raw.replace("\r\n", "\n").replace("\r", "\n"), emoji=True).strip()
    if _has_control(typed, allow_newlines=True):
        raise InputError(field, "err_note", "control characters")
    typed = _tidy(typed)
    text = _tidy(_visible(unicodedata.normalize("NFKC", typed), emoji=True))
    if _too_long(typed, text, NOTE_MAX, NOTE_BYTES_MAX):
        raise InputError(field, "err_note", f"longer than {NOTE_MAX} characters")
    # "%%" starts a placeholder of the stored message (linebudget.PLACEHOLDER): a note that
    # held one could be expanded where values are spliced in one after another.
    if "%%" in text or not _allowed(text, NOTE_PUNCTUATION, note=True) or url_like(text):
        raise InputError(field, "err_note", "no links or markup")
    return text
