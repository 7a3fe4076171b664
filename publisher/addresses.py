"""Email address validation: the only importer of email-validator. No DNS, ever."""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """Not exactly one valid addr-spec; the message says why."""


@lru_cache(maxsize=4096)
def _validated(text: str) -> tuple[str, str]:
    if any(c in text for c in "\r\n,;<>\"'") or text != text.strip():
        # parseaddr would quietly keep a part of "x@a\r\nBcc: y@b"; refuse it outright.
        raise AddressError(f"not a single address: {text[:80]!r}")
    try:
        info = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from None
    return info.normalized, info.ascii_email or info.normalized


def normalise(text: str) -> str:
    """The stored form: domain lower-cased, Unicode domain kept as typed (NFC)."""
    return _validated(text)[0]


def to_ascii(text: str) -> str:
    """The wire form: an IDN domain in punycode (we never emit encoded-words in addresses)."""
    if text.isascii():
        return text
    return _validated(text)[1]


def domain_of(address: str) -> str:
    return to_ascii(address).rpartition("@")[2]
