"""DKIM signing: the only importer of dkimpy. Applied per message at send time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dkim

# dkimpy signs List-Unsubscribe by default but not List-Unsubscribe-Post (RFC 8058 wants both).
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
    b"content-type", b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)  # fmt: skip


class DkimError(ValueError):
    pass


def sign(message: bytes, *, selector: str, domain: str, private_key: bytes) -> bytes:
    """The message with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
    try:
        header = dkim.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
    except dkim.DKIMException as exc:
        raise DkimError(f"DKIM signing failed: {exc}") from None
    return bytes(header) + message


def signer(*, selector: str, domain: str, key_file: Path) -> Callable[[bytes], bytes]:
    """A ``transform`` hook for the delivery engine."""
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        raise DkimError(f"dkim_private_key_file: cannot read {key_file}: {exc.strerror}") from None

    def _sign(message: bytes) -> bytes:
        return sign(message, selector=selector, domain=domain, private_key=key)

    return _sign


def verify(message: bytes, *, dnsfunc: Callable[..., bytes]) -> bool:
    """Offline verification (tests, `publisher check`): the caller supplies the DNS answer."""
    return bool(dkim.verify(message, dnsfunc=dnsfunc))


def transform_for(
    *, selector: str, domain: str, key_file: str, from_address: str
) -> Callable[[bytes], bytes] | None:
    """The delivery engine's per-message hook from settings; None when DKIM is not configured.

    Call with ``settings.dkim_selector``, ``settings.dkim_domain`` (the From domain if empty),
    ``settings.dkim_private_key_file`` and ``settings.from_address``.
    """
    if not selector or not key_file:
        return None
    return signer(
        selector=selector,
        domain=domain or from_address.rpartition("@")[2].encode("idna").decode("ascii"),
        key_file=Path(key_file),
    )
