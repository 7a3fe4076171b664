"""Signed, purpose-salted, expiring tokens: the only importer of itsdangerous.

A token carries ids only. Its payload is merely base64, so an email address would be readable
by anyone holding the link.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from publisher.core.errors import PublisherError

Purpose = Literal[
    "confirm", "unsubscribe", "preferences", "share-block", "form", "click", "click-reader"
]

MAX_AGE: dict[Purpose, timedelta] = {
    "confirm": timedelta(days=7),
    # An old digest's footer must keep working: at least 60 days (we allow 90).
    "unsubscribe": timedelta(days=90),
    "preferences": timedelta(days=90),
    "share-block": timedelta(days=365),
    # A web form's anti-forgery token carries the time it was shown; a stale form is refused.
    "form": timedelta(hours=2),
    # A digest's article links (analytics/links.py) and the reader part of a per-reader link:
    # an archived digest's links keep working for years.
    "click": timedelta(days=3650),
    "click-reader": timedelta(days=3650),
}


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
    payload = "-".join(str(int(i)) for i in ids)
    return _signer(secret, purpose, int(now.timestamp())).sign(payload).decode("ascii")


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
