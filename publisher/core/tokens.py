"""Signed, purpose-salted, expiring tokens: the only importer of itsdangerous.

A token carries ids only. Its payload is merely base64, so an email address would be readable
by anyone holding the link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, Signer, TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes

from publisher.core.errors import PublisherError

Purpose = Literal[
    "confirm",
    "unsubscribe",
    "preferences",
    "share-block",
    "form",
    "reconfirm",
    "click",
    "click-reader",
]

MAX_AGE: dict[Purpose, timedelta] = {
    "confirm": timedelta(days=7),
    # An old digest's footer must keep working: at least 60 days (we allow 90).
    "unsubscribe": timedelta(days=90),
    "preferences": timedelta(days=90),
    "share-block": timedelta(days=365),
    # A web form's anti-forgery token carries the time it was shown; a stale form is refused.
    "form": timedelta(hours=2),
    # A reconfirmation of advertising consent: valid past its grace period (issue 18).
    "reconfirm": timedelta(days=90),
    # A digest's article links (analytics/links.py) and the reader part of a per-reader link:
    # an archived digest's links keep working for years.
    "click": timedelta(days=3650),
    "click-reader": timedelta(days=3650),
}


# Demo mode only (settings refuse an empty secret_key otherwise): links work, but are forgeable.
DEMO_SECRET = "publisher-demo-secret-not-for-production"


def signing_secret(secret_key: str, demo: bool) -> str:
    """The key tokens are signed with: secret_key, the demo's fixed key, or none."""
    return secret_key or (DEMO_SECRET if demo else "")


class TokenError(PublisherError, ValueError):  # ValueError: callers and tests predate the tree
    """Bad, tampered, expired or wrong-purpose token."""


def _signer_at(timestamp: int) -> type[TimestampSigner]:
    class _At(TimestampSigner):
        _key: bytes | None = None

        def get_timestamp(self) -> int:
            return timestamp

        def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
            if secret_key is not None:
                return super().derive_key(secret_key)
            if self._key is None:  # the same for every token of a run: derive it once
                self._key = super().derive_key()
            return self._key

    return _At


@lru_cache(maxsize=64)
def _signer(secret: str, purpose: str, timestamp: int) -> TimestampSigner:
    # A bare signer over "id-id": a third of the JSON serializer's cost, and 100k links
    # per digest run make that count.
    return _signer_at(timestamp)(secret, salt=f"publisher.{purpose}")


def make(secret: str, purpose: Purpose, ids: tuple[int, ...], *, now: datetime) -> str:
    if not secret:
        raise TokenError("no secret_key configured")
    payload = str(int(ids[0])) if len(ids) == 1 else "-".join(str(int(i)) for i in ids)
    timestamp = int(now.timestamp())
    minter = _minter(secret, purpose, timestamp)
    if minter is None:
        return _signer(secret, purpose, timestamp).sign(payload).decode("ascii")
    return minter.sign(payload)


def signer(secret: str, purpose: Purpose, *, now: datetime) -> Callable[[int], str]:
    """``make`` for one id, bound to a purpose and a time: a run's many tokens of one kind."""
    if not secret:
        raise TokenError("no secret_key configured")
    minter = _minter(secret, purpose, int(now.timestamp()))
    if minter is None:
        return lambda ident: make(secret, purpose, (ident,), now=now)
    sign = minter.sign
    return lambda ident: sign(str(int(ident)))


# --- the signing hot path: a digest run signs two or three links per reader ---
#
# itsdangerous's TimestampSigner.sign is pure Python per token (an hmac.HMAC object, key
# checks, two base64 passes): a quarter of a million-reader run's CPU. Its token is
# ``payload.TIMESTAMP.SIGNATURE``, SIGNATURE being the unpadded URL-safe base64 of
# HMAC-SHA1(key, "payload.TIMESTAMP") with the key itsdangerous derives from the secret and
# the purpose's salt. _Minter computes the same HMAC (RFC 2104) from SHA-1 states with the
# padded key already absorbed, copied per token: 1.4 µs where OpenSSL's one-shot
# ``hmac.digest`` takes 3 µs (its per-call context set-up) and itsdangerous 6 µs. Verifying
# stays itsdangerous's (read_issued), and readers' mailed links are the same bytes.

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PROBES = ("1234567", "0", "9-8-7-6")


class _Minter:
    def __init__(self, key: bytes, timestamp: int) -> None:
        block = hashlib.sha1().block_size
        if len(key) > block:
            key = hashlib.sha1(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha1(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha1(bytes(b ^ 0x5C for b in key))
        self._tail = "." + base64_encode(int_to_bytes(timestamp)).decode("ascii")

    def sign(self, payload: str) -> str:
        head = payload + self._tail
        inner = self._inner.copy()
        inner.update(head.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        mac = binascii.b2a_base64(outer.digest(), newline=False).translate(_URLSAFE)
        return f"{head}.{mac.rstrip(b'=').decode('ascii')}"


@lru_cache(maxsize=64)
def _minter(secret: str, purpose: str, timestamp: int) -> _Minter | None:
    """The fast signer of this run's tokens, or None to sign with itsdangerous: its tokens
    must equal itsdangerous's own for a few probes, so a change of its defaults (digest, key
    derivation, separator) falls back instead of mailing links that would not verify."""
    signer = _signer(secret, purpose, timestamp)
    minter = _Minter(signer.derive_key(), timestamp)
    same = all(minter.sign(p) == signer.sign(p).decode("ascii") for p in _PROBES)
    return minter if same else None


def read(secret: str, purpose: Purpose, token: str, *, now: datetime) -> tuple[int, ...]:
    """The ids in a valid token of this purpose, or TokenError."""
    return read_issued(secret, purpose, token, now=now)[0]


def read_issued(
    secret: str, purpose: Purpose, token: str, *, now: datetime
) -> tuple[tuple[int, ...], datetime]:
    """The ids in a valid token and when it was issued (whole seconds, UTC), or TokenError.

    The time lets a caller refuse a token older than the row its id names now: SQLite may
    give a deleted subscriber's id to the next one who signs up.
    """
    signer = _signer(secret, purpose, int(now.timestamp()))
    max_age = int(MAX_AGE[purpose].total_seconds())
    try:
        raw, issued = signer.unsign(token, max_age=max_age, return_timestamp=True)
        value = raw.decode("ascii")
    except SignatureExpired:
        raise TokenError(f"{purpose} token expired") from None
    except (BadSignature, UnicodeError):
        raise TokenError(f"not a valid {purpose} token") from None
    try:
        return tuple(int(v) for v in value.split("-")), issued
    except ValueError:
        raise TokenError(f"not a valid {purpose} token") from None


# --- short tokens: an id and a truncated MAC, for places a long token does not fit ---
#
# A VERP envelope sender (``bounces+TOKEN@domain``) must fit the 64-octet local part, and
# mail systems may fold its case on the way back (Postfix lowercases Delivered-To): so the
# token is lower-case base36 + base32, with no timestamp. The signing is itsdangerous's own
# (key derived from the secret with this purpose's salt, its HMAC), only encoded differently.

ShortPurpose = Literal["bounce"]
_SHORT_MAC_CHARS = 13  # base32: 65 bits


@lru_cache(maxsize=16)
def _short_key(secret: str, purpose: str) -> hmac.HMAC:
    # itsdangerous's key derivation and digest; the keyed HMAC state is built once and copied
    # per token (a third of the cost of itsdangerous's get_signature, per outbox row).
    signer = Signer(secret, salt=f"publisher.{purpose}")
    return hmac.new(signer.derive_key(), digestmod=signer.digest_method)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def same_text(given: str, expected: str) -> bool:
    """hmac.compare_digest for a token or MAC sent from outside (a form field, a cookie, a
    path, a JSON body): on str it raises TypeError (a 500) for any non-ASCII character, which
    all of those can hold, so the UTF-8 bytes (a lone surrogate too) are compared instead."""
    encode = "utf-8", "surrogatepass"
    return hmac.compare_digest(given.encode(*encode), expected.encode(*encode))


def _short_mac(secret: str, purpose: ShortPurpose, head: str) -> str:
    mac = _short_key(secret, purpose).copy()
    mac.update(head.encode("ascii"))
    raw = mac.digest()
    return base64.b32encode(raw).decode("ascii")[:_SHORT_MAC_CHARS].lower()


def make_short(secret: str, purpose: ShortPurpose, ident: int) -> str:
    """``<id in base36>-<MAC>``: about 17 characters, lower case, no expiry."""
    if not secret:
        raise TokenError("no secret_key configured")
    if ident < 0:
        raise TokenError("a short token names a non-negative id")
    head = _base36(ident)
    return f"{head}-{_short_mac(secret, purpose, head)}"


def read_short(secret: str, purpose: ShortPurpose, token: str) -> int:
    """The id a short token names, or TokenError (forged, cut, or another purpose's)."""
    head, _, mac = token.strip().lower().partition("-")
    if not secret or not head or len(head) > 13 or not head.isalnum() or not head.isascii():
        raise TokenError(f"not a valid {purpose} token")
    if not same_text(mac, _short_mac(secret, purpose, head)):
        raise TokenError(f"not a valid {purpose} token")
    return int(head, 36)
