"""Password hashing: the only importer of argon2-cffi (Argon2id, the library's defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile
# Verified against when the account is unknown, so both answers take as long.
_DUMMY = _HASHER.hash("not-a-password: timing only")
MIN_LENGTH = 10
MAX_LENGTH = 256  # Argon2 takes any length; a megabyte "password" only costs us time


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
