"""Signed, purpose-salted, expiring tokens: the only importer of itsdangerous.

A token carries ids only. Its payload is merely base64, so an email address would be readable
by anyone holding the link.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

Purpose = Literal["confirm", "unsubscribe", "preferences", "share-block"]

MAX_AGE: dict[Purpose, timedelta] = {
    "confirm": timedelta(days=7),
    # An old digest's footer must keep working: at least 60 days (we allow 90).
    "unsubscribe": timedelta(days=90),
    "preferences": timedelta(days=90),
    "share-block": timedelta(days=365),
}


class TokenError(ValueError):
    """Bad, tampered, expired or wrong-purpose token."""


def _signer_at(timestamp: int) -> type[TimestampSigner]:
    class _At(TimestampSigner):
        def get_timestamp(self) -> int:
            return timestamp

    return _At


@lru_cache(maxsize=64)
def _serializer(secret: str, purpose: str, timestamp: int) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"publisher.{purpose}", signer=_signer_at(timestamp))


def make(secret: str, purpose: Purpose, ids: tuple[int, ...], *, now: datetime) -> str:
    if not secret:
        raise TokenError("no secret_key configured")
    token = _serializer(secret, purpose, int(now.timestamp())).dumps(list(ids))
    assert isinstance(token, str)
    return token


def read(secret: str, purpose: Purpose, token: str, *, now: datetime) -> tuple[int, ...]:
    """The ids in a valid token of this purpose, or TokenError."""
    serializer = _serializer(secret, purpose, int(now.timestamp()))
    max_age = int(MAX_AGE[purpose].total_seconds())
    try:
        value = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError(f"{purpose} token expired") from None
    except BadSignature:
        raise TokenError(f"not a valid {purpose} token") from None
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise TokenError(f"not a valid {purpose} token")
    return tuple(value)
