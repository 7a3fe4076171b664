"""Email address validation: the only importer of email-validator. No DNS, ever.

Three forms of one address:

- ``normalise``: as the reader typed it, domain IDNA-normalised (what we display and deliver to);
- ``to_ascii``: the wire form, an IDN domain in punycode;
- ``canonical``: the one key every per-address protection uses (subscriber lookups,
  suppressions, rate counters, share blocks). ``Victim@x``, ``victim@x`` and ``VICTIM@X`` are
  one mailbox to every limit. Strictly, RFC 5321 lets a server treat local parts case-sensitively;
  no mail system in use does, and keying them apart let a case change bypass every limit.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from publisher.core.errors import PublisherError


class AddressError(PublisherError, ValueError):  # ValueError: pydantic validators raise it
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


def canonical(text: str) -> str:
    """The key of an address: local part lower-cased, domain in its IDNA-normalised Unicode form.

    ``user@xn--3e0b707e.kr`` and ``USER@한국.KR`` give ``user@한국.kr``. Never raises: text that
    is not a valid address (a legacy row) is keyed by its stripped, lower-cased self, so a
    lookup still finds what a store write keyed the same way.
    """
    folded = text.strip().lower()
    if folded.isascii() and "xn--" not in folded:
        # A valid ASCII address normalises to itself with a lower-cased domain (quoted local
        # parts are refused above), so lower-casing it all is its key: no validation needed on
        # the delivery claim's hot path.
        return folded
    try:
        local, _, domain = normalise(text.strip()).rpartition("@")
    except AddressError:
        return folded
    return f"{local.lower()}@{domain}"


def domain_of(address: str) -> str:
    return to_ascii(address).rpartition("@")[2]
